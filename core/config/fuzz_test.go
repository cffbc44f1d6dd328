package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary text to the loader. It must never panic, and
// whatever it accepts must survive Format and load back the same. The
// seed corpus is every file in testdata, so plain `go test` runs them.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.conf")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range []string{
		"", "port: 1", "a{b{c{}}}", "jetstream: true\njetstream: false", "x = [1, 2, {a: b}]",
		"accounts { A { users: [{user: a}] }, B { imports: [{stream: {account: A, subject: x}}] } }",
		"mappings { \"a.*\": \"b.$1\" }", "authorization { users: [ {nkey: U} ] }",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		// Includes and file settings would make the fuzzer read the
		// machine's files (or /dev/zero forever).
		if strings.Contains(data, "include") || strings.Contains(data, "_file") || strings.Contains(data, "/dev/") {
			t.Skip()
		}
		o, err := Parse(data, "fuzz")
		if err != nil {
			if _, ok := err.(Errors); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		roundTrip(t, o, Format(o, FormatOptions{}))
	})
}
