package cli

import (
	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/plugins"
)

// HostConfig is the plugin host configuration of a server's options: the
// plugins of `plugins { NAME { path, args, env, checksum } }`, the plugin
// directory, and l for the host's and the plugins' logs. The caller sets
// Config.APIHost (or calls Host.SetAPIHost) once the JetStream runtime
// exists.
func HostConfig(o *server.Options, l plugins.Logger) plugins.Config {
	cfg := plugins.Config{Dir: o.PluginDir, Logger: l}
	for _, pc := range o.Plugins {
		if pc != nil {
			cfg.Plugins = append(cfg.Plugins, plugins.PluginConfig(*pc))
		}
	}
	return cfg
}
