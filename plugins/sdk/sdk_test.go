package sdk

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/mem"
)

// allowed lists the Hangar packages a plugin may pull in through the SDK:
// the contracts and their leaves, and the adapters. storetest brings the
// memory store, the other side of its cross-backend snapshot cases.
var allowed = []string{
	"github.com/hangar-mq/hangar/proto/",
	"github.com/hangar-mq/hangar/core/store",
	"github.com/hangar-mq/hangar/core/store/snapfmt",
	"github.com/hangar-mq/hangar/core/store/storetest",
	"github.com/hangar-mq/hangar/core/store/mem",
	"github.com/hangar-mq/hangar/core/jsapi",
	"github.com/hangar-mq/hangar/core/jserr",
	"github.com/hangar-mq/hangar/core/subject",
	"github.com/hangar-mq/hangar/plugins/sdk",
	"github.com/hangar-mq/hangar/plugins/adapter",
}

// TestImportGraph keeps the SDK off the server: everything of Hangar it
// depends on, directly or not, must be a contract package.
func TestImportGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard", "github.com/hangar-mq/hangar/plugins/sdk").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Standard   bool
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Standard || !strings.HasPrefix(p.ImportPath, "github.com/hangar-mq/hangar/") {
			continue
		}
		seen++
		ok := false
		for _, a := range allowed {
			if p.ImportPath == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(p.ImportPath, a)) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("plugins/sdk depends on %s, which is not a contract package", p.ImportPath)
		}
	}
	if seen < 5 {
		t.Fatalf("go list found only %d Hangar packages: the check is not looking", seen)
	}
}

// TestRunConformance runs the SDK's kit on the memory store, as a third
// party would on theirs.
func TestRunConformance(t *testing.T) {
	RunConformance(t, Factory{Storage: store.MemoryStorage, New: func(tb testing.TB, _ string) store.Provider {
		p, err := mem.New(store.ProviderConfig{})
		if err != nil {
			tb.Fatal(err)
		}
		return p
	}})
}
