package app

import (
	"context"
	"time"

	"github.com/hangar-mq/hangar/core/jetstream"
	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/plugins"
	"github.com/hangar-mq/hangar/plugins/cli"

	// The built-in modules register themselves.
	_ "github.com/hangar-mq/hangar/api-handlers/all"
	_ "github.com/hangar-mq/hangar/core/store/mem"
	_ "github.com/hangar-mq/hangar/storage-file"
	_ "github.com/hangar-mq/hangar/storage-pebble"
)

// NewServer creates a server from opts with every built-in module wired
// in: the JetStream runtime, its API families, the storage backends, and
// the external plugins the options name. Tests use it to run the same
// server the binary runs.
func NewServer(o *server.Options, l server.Logger) (*server.Server, error) {
	s, err := server.New(o)
	if err != nil {
		return nil, err
	}
	s.SetLogger(l)
	if !o.JetStream {
		return s, nil
	}
	opts := s.Options()
	var host *plugins.Host
	if len(opts.Plugins) > 0 || opts.PluginDir != "" {
		host = plugins.NewHost(cli.HostConfig(opts, s.Logger()))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// Plugins register their stores before the runtime opens backends.
		if err := host.Start(ctx); err != nil {
			return nil, err
		}
		// Added first, so it is shut down after the runtime closed its stores.
		s.AddExtension(&pluginExtension{host: host})
	}
	rt := jetstream.New(jetstream.ConfigFromOptions(opts))
	if host != nil {
		for _, f := range host.Families() {
			rt.AddFamily(f)
		}
		host.SetAPIHost(rt.APIHost())
	}
	s.AddExtension(rt)
	return s, nil
}

// pluginExtension stops the plugin processes when the server shuts down.
type pluginExtension struct{ host *plugins.Host }

func (p *pluginExtension) Name() string               { return "plugins" }
func (p *pluginExtension) Start(*server.Server) error { return nil }
func (p *pluginExtension) Shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p.host.Stop(ctx)
}
