package plugins

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
)

// PluginConfig names one external plugin binary. Its fields are those of
// core/server.PluginConfig, so a server option converts with
// plugins.PluginConfig(*opt).
type PluginConfig struct {
	// Name is how the configuration refers to the plugin: a store plugin
	// becomes backend Name (registry ID "store.<Name>"). Lowercase letters,
	// digits, '-' and '_'.
	Name string
	// Path is the plugin binary.
	Path string
	// Args are passed to the binary.
	Args []string
	// Env is added to the plugin's environment (over the server's own).
	Env map[string]string
	// Checksum pins the binary: "sha256:<hex>". Empty: not checked.
	Checksum string
}

// Config is what a Host runs.
type Config struct {
	// Plugins are the configured plugins.
	Plugins []PluginConfig
	// Dir, when set, is scanned for more plugins: every executable file is
	// one, named after the file (without extension). A configured plugin
	// of the same name wins.
	Dir string
	// Logger receives the host's messages and the plugins' logs.
	Logger Logger
	// APIHost is what API family plugins call back (the JetStream runtime).
	// It may be set later with Host.SetAPIHost; until then their calls get
	// a 503-class error.
	APIHost jsapi.Host

	// HealthInterval is how often a plugin is pinged (default 5s). A
	// plugin's exit is noticed sooner, and so is a failed call.
	HealthInterval time.Duration
	// RestartMin and RestartMax bound the backoff between restarts of a
	// crashed plugin (defaults 100ms and 10s; it doubles per failure).
	RestartMin, RestartMax time.Duration
	// CallTimeout bounds every store call and API request (default 30s).
	CallTimeout time.Duration
	// StartTimeout bounds a plugin's start and handshake (default 20s).
	StartTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = nopLogger{}
	}
	if c.HealthInterval <= 0 {
		c.HealthInterval = 5 * time.Second
	}
	if c.RestartMin <= 0 {
		c.RestartMin = 100 * time.Millisecond
	}
	if c.RestartMax < c.RestartMin {
		c.RestartMax = max(10*time.Second, c.RestartMin)
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 20 * time.Second
	}
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// validate checks a plugin's name, path and checksum.
func (pc *PluginConfig) validate() error {
	if !nameRE.MatchString(pc.Name) {
		return fmt.Errorf("plugins: plugin name %q: use lowercase letters, digits, '-' and '_', starting with a letter", pc.Name)
	}
	if pc.Path == "" {
		return fmt.Errorf("plugins: plugin %q has no path", pc.Name)
	}
	if _, err := pc.checksum(); err != nil {
		return err
	}
	return nil
}

// checksum decodes "sha256:<hex>"; nil when none is configured.
func (pc *PluginConfig) checksum() ([]byte, error) {
	if pc.Checksum == "" {
		return nil, nil
	}
	algo, hexsum, ok := strings.Cut(pc.Checksum, ":")
	if !ok || algo != "sha256" {
		return nil, fmt.Errorf("plugins: plugin %q: checksum %q: want \"sha256:<hex>\"", pc.Name, pc.Checksum)
	}
	sum, err := hex.DecodeString(hexsum)
	if err != nil || len(sum) != 32 {
		return nil, fmt.Errorf("plugins: plugin %q: checksum %q is not 64 hex digits", pc.Name, pc.Checksum)
	}
	return sum, nil
}

// resolve returns the configured plugins plus those found in Dir, sorted
// by name, checked.
func (c *Config) resolve() ([]PluginConfig, error) {
	byName := make(map[string]PluginConfig)
	for _, pc := range c.Plugins {
		if err := pc.validate(); err != nil {
			return nil, err
		}
		if _, dup := byName[pc.Name]; dup {
			return nil, fmt.Errorf("plugins: plugin %q configured twice", pc.Name)
		}
		byName[pc.Name] = pc
	}
	if c.Dir != "" {
		found, err := scanDir(c.Dir)
		if err != nil {
			return nil, err
		}
		for _, pc := range found {
			if _, ok := byName[pc.Name]; !ok {
				byName[pc.Name] = pc
			}
		}
	}
	out := make([]PluginConfig, 0, len(byName))
	for _, pc := range byName {
		out = append(out, pc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// scanDir lists the executables of dir as plugins. A file whose name is
// not a valid plugin name is skipped: the directory may hold other things.
func scanDir(dir string) ([]PluginConfig, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("plugins: plugin directory: %w", err)
	}
	var out []PluginConfig
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		name := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		if !nameRE.MatchString(name) {
			continue
		}
		out = append(out, PluginConfig{Name: name, Path: filepath.Join(dir, e.Name())})
	}
	return out, nil
}
