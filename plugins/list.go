package plugins

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hangar-mq/hangar/core/store"
)

// Entry is one row of `hangar plugins ls`: a store or API family, built in
// or served by a plugin.
type Entry struct {
	// ID is the registry ID: "store.file", "api.stats".
	ID string
	// Kind is "store" or "api".
	Kind string
	// Source is "builtin", or "plugin NAME (PATH)".
	Source string
	// Version and Capabilities come from Describe (empty if unknown).
	Version      string
	Capabilities []string
	// Endpoints lists an API family's subjects.
	Endpoints []string
	// State is "running" or "restarting", with restarts, for plugins.
	State string
	// Err says why the entry could not be described.
	Err string
}

// Inventory lists what a server runs: every store of the registry (the
// built-ins, described by opening one in a scratch directory) and the
// built-in API families named by builtinFamilies, then h's plugins. h may
// be nil.
func Inventory(ctx context.Context, h *Host, builtinFamilies []string) []Entry {
	var out []Entry
	ours := map[string]bool{}
	if h != nil {
		for _, id := range h.StoreIDs() {
			ours[id] = true
		}
	}
	for _, id := range store.Registered() {
		if ours[id] {
			continue
		}
		if pluginStoreID(id) {
			continue // a plugin store of a Host that is not running
		}
		out = append(out, describeBuiltin(ctx, id))
	}
	for _, id := range builtinFamilies {
		out = append(out, Entry{ID: id, Kind: "api", Source: "builtin"})
	}
	if h != nil {
		out = append(out, h.entries()...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind > out[j].Kind // stores first
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func describeBuiltin(ctx context.Context, id string) Entry {
	e := Entry{ID: id, Kind: "store", Source: "builtin"}
	dir, err := os.MkdirTemp("", "hangar-describe-")
	if err != nil {
		e.Err = err.Error()
		return e
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := store.NewProvider(id, store.ProviderConfig{Dir: dir})
	if err != nil {
		e.Err = err.Error()
		return e
	}
	defer p.Close(ctx)
	d, err := p.Describe(ctx)
	if err != nil {
		e.Err = err.Error()
		return e
	}
	e.Version, e.Capabilities = d.Version, capList(d.Capabilities)
	return e
}

func capList(c store.Capabilities) []string {
	var out []string
	for _, x := range []struct {
		on   bool
		name string
	}{{c.Persistent, "persistent"}, {c.SecureErase, "secure-erase"}, {c.Encryption, "encryption"}, {c.Compression, "compression"}} {
		if x.on {
			out = append(out, x.name)
		}
	}
	return out
}

// entries describes the host's plugins.
func (h *Host) entries() []Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Entry
	for _, hp := range h.plugins {
		src := fmt.Sprintf("plugin %s (%s)", hp.pc.Name, hp.pc.Path)
		if b := hp.store; b != nil {
			e := Entry{ID: b.id, Kind: "store", Source: src, Version: b.desc.Version,
				Capabilities: capList(b.desc.Capabilities), State: "on demand (a process per provider)"}
			if b.desc.ID != "" && b.desc.ID != b.id {
				e.Version = strings.TrimSpace(b.desc.ID + " " + b.desc.Version)
			}
			out = append(out, e)
		}
		if f := hp.family; f != nil {
			e := Entry{ID: f.id, Kind: "api", Source: src, Version: f.version, State: hp.famSup.state()}
			for _, ep := range f.eps {
				e.Endpoints = append(e.Endpoints, "$JS.API."+ep.Pattern)
			}
			out = append(out, e)
		}
	}
	return out
}
