package adapter

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/hangar-mq/hangar/core/store"
)

// The environment through which a host hands a store plugin process the
// store.ProviderConfig of the provider it serves: one process per
// provider, so a provider's directory, sync policy and parameters are
// fixed for the process's life.
const (
	EnvStoreDir    = "HANGAR_STORE_DIR"
	EnvStoreSync   = "HANGAR_STORE_SYNC" // "always", a Go duration, or empty
	EnvStoreParams = "HANGAR_STORE_PARAMS"
	// EnvLogLevel is the level a plugin logs at: trace, debug, info, warn
	// or error.
	EnvLogLevel = "HANGAR_PLUGIN_LOG_LEVEL"
)

// StoreEnv encodes cfg as environment entries for a plugin process.
func StoreEnv(cfg store.ProviderConfig) []string {
	sync := ""
	switch {
	case cfg.Sync.Always:
		sync = "always"
	case cfg.Sync.Interval > 0:
		sync = cfg.Sync.Interval.String()
	}
	env := []string{EnvStoreDir + "=" + cfg.Dir, EnvStoreSync + "=" + sync}
	if len(cfg.Params) > 0 {
		env = append(env, EnvStoreParams+"="+string(cfg.Params))
	}
	return env
}

// StoreConfigFromEnv decodes what StoreEnv encoded from the process
// environment.
func StoreConfigFromEnv() (store.ProviderConfig, error) {
	cfg := store.ProviderConfig{Dir: os.Getenv(EnvStoreDir)}
	switch s := os.Getenv(EnvStoreSync); s {
	case "":
	case "always":
		cfg.Sync.Always = true
	default:
		d, err := time.ParseDuration(s)
		if err != nil {
			return cfg, fmt.Errorf("%w: %s=%q: %w", store.ErrInvalid, EnvStoreSync, s, err)
		}
		cfg.Sync.Interval = d
	}
	if p := os.Getenv(EnvStoreParams); p != "" {
		if !json.Valid([]byte(p)) {
			return cfg, fmt.Errorf("%w: %s is not JSON", store.ErrInvalid, EnvStoreParams)
		}
		cfg.Params = json.RawMessage(p)
	}
	return cfg, nil
}
