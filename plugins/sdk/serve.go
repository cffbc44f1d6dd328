package sdk

import (
	"context"
	"os"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/plugins/adapter"
	plugin "github.com/hashicorp/go-plugin"
)

// ServeConfig is what one plugin binary serves: a store, an API family, or
// both.
type ServeConfig struct {
	// Store is the provider to serve, or nil.
	Store store.Provider
	// Family builds the API family to serve, or is nil. It is called once
	// the server is connected, with the jsapi.Host that reaches it.
	Family func(jsapi.Host) jsapi.Family
}

// Serve serves cfg until the server stops the plugin, then closes the
// store. It refuses to run outside a Hangar server (the handshake's magic
// cookie is missing) and exits the process with status 1.
func Serve(cfg ServeConfig) {
	set := plugin.PluginSet{}
	if cfg.Store != nil {
		set[adapter.StorePluginName] = &adapter.StorePlugin{Provider: cfg.Store}
	}
	if cfg.Family != nil {
		set[adapter.FamilyPluginName] = &adapter.FamilyPlugin{Build: cfg.Family}
	}
	if len(set) == 0 {
		Log().Errorf("sdk.Serve: nothing to serve")
		os.Exit(1)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: adapter.Handshake,
		Plugins:         set,
		GRPCServer:      adapter.NewGRPCServerWithLimits,
		Logger:          hcLogger(),
	})
	if cfg.Store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cfg.Store.Close(ctx); err != nil {
			Log().Errorf("closing the store: %v", err)
		}
	}
}

// ServeStore serves p as a store plugin; see Serve. Build p from
// StoreConfig, which carries the directory and sync policy the server
// chose for it.
func ServeStore(p store.Provider) { Serve(ServeConfig{Store: p}) }

// ServeStoreFunc builds the provider with newProvider from the server's
// StoreConfig and serves it. If either fails the error is logged and the
// process exits with status 1, which the server reports.
func ServeStoreFunc(newProvider func(store.ProviderConfig) (store.Provider, error)) {
	cfg, err := StoreConfig()
	if err == nil {
		var p store.Provider
		if p, err = newProvider(cfg); err == nil {
			ServeStore(p)
			return
		}
	}
	Log().Errorf("starting the store: %v", err)
	os.Exit(1)
}

// ServeAPIFamily serves the API family build returns; see Serve.
func ServeAPIFamily(build func(jsapi.Host) jsapi.Family) { Serve(ServeConfig{Family: build}) }

// StoreConfig returns the store.ProviderConfig the server runs this
// process for: the provider's directory (created already), its sync policy
// and its backend parameters (JSON, to decode strictly). The server starts
// one process per provider, so it does not change while the process runs.
func StoreConfig() (store.ProviderConfig, error) { return adapter.StoreConfigFromEnv() }
