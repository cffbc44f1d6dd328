package store

import (
	"errors"
	"slices"
	"testing"
)

func TestRegistry(t *testing.T) {
	info := ProviderInfo{ID: "store.test-registry", New: func(ProviderConfig) (Provider, error) { return nil, ErrUnsupported }}
	Register(info)
	if got, ok := Lookup(info.ID); !ok || got.ID != info.ID {
		t.Fatal("Lookup after Register")
	}
	if !slices.Contains(Registered(), info.ID) {
		t.Fatal("Registered lacks the ID")
	}
	if _, err := NewProvider(info.ID, ProviderConfig{}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("NewProvider = %v", err)
	}
	if _, err := NewProvider("store.nope", ProviderConfig{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("NewProvider of an unknown ID = %v", err)
	}
	for _, bad := range []ProviderInfo{info, {ID: "", New: info.New}, {ID: "store.x"}, {ID: "Store.Upper", New: info.New}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", bad.ID)
				}
			}()
			Register(bad)
		}()
	}
}
