package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hangar-mq/hangar/core/jetstream"
	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/plugins/cli"
)

const pluginsHelp = `Usage: hangar plugins ls [-c FILE]
       hangar plugins check [--arg A]... [--env K=V]... [--checksum sha256:HEX] PATH

ls     lists the built-in and configured plugins (stores and API families)
       with their versions and capabilities.
check  runs the handshake and a short conformance smoke test against the
       plugin binary at PATH.
`

func pluginsCommand(args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Print(pluginsHelp)
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	logger := server.NewStdLogger(os.Stderr, true, false, false, false)
	switch args[0] {
	case "ls", "list":
		fs := flag.NewFlagSet("plugins ls", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cfgFile := fs.String("c", "", "")
		fs.StringVar(cfgFile, "config", "", "")
		if err := fs.Parse(args[1:]); err != nil {
			fmt.Fprintf(os.Stderr, "hangar plugins ls: %v\n", err)
			return 1
		}
		o := &server.Options{}
		if *cfgFile != "" {
			f := &cliFlags{config: *cfgFile, set: map[string]bool{}}
			var err error
			if o, err = f.options(); err != nil {
				fmt.Fprintf(os.Stderr, "hangar plugins ls: %v\n", err)
				return 1
			}
		}
		if err := cli.List(ctx, os.Stdout, cli.HostConfig(o, logger), jetstream.RegisteredFamilies()); err != nil {
			fmt.Fprintf(os.Stderr, "hangar plugins ls: %v\n", err)
			return 1
		}
		return 0
	case "check":
		fs := flag.NewFlagSet("plugins check", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var opts cli.CheckOptions
		var argList, envList multi
		fs.Var(&argList, "arg", "")
		fs.Var(&envList, "env", "")
		fs.StringVar(&opts.Checksum, "checksum", "", "")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
			fmt.Fprint(os.Stderr, pluginsHelp)
			return 1
		}
		opts.Args = argList
		opts.Env = map[string]string{}
		for _, kv := range envList {
			k, v, _ := strings.Cut(kv, "=")
			opts.Env[k] = v
		}
		opts.Logger = logger
		if err := cli.Check(ctx, os.Stdout, fs.Arg(0), opts); err != nil {
			fmt.Fprintf(os.Stderr, "hangar plugins check: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprint(os.Stderr, pluginsHelp)
	return 1
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }
