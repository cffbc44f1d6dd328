package sdk

import (
	"fmt"
	"os"

	"github.com/hangar-mq/hangar/plugins/adapter"
	"github.com/hashicorp/go-hclog"
)

// origStderr is the process's stderr as the server reads it. go-plugin
// redirects os.Stderr once serving, so the logger keeps the original.
var origStderr = os.Stderr

// Logger is a plugin's log. Lines go to the server's log, at their level,
// tagged with the plugin's name.
type Logger interface {
	Debugf(format string, v ...any)
	Noticef(format string, v ...any)
	Warnf(format string, v ...any)
	Errorf(format string, v ...any)
}

type hcLog struct{ l hclog.Logger }

func (h hcLog) Debugf(f string, v ...any)  { h.l.Debug(fmt.Sprintf(f, v...)) }
func (h hcLog) Noticef(f string, v ...any) { h.l.Info(fmt.Sprintf(f, v...)) }
func (h hcLog) Warnf(f string, v ...any)   { h.l.Warn(fmt.Sprintf(f, v...)) }
func (h hcLog) Errorf(f string, v ...any)  { h.l.Error(fmt.Sprintf(f, v...)) }

var logger = hclog.New(&hclog.LoggerOptions{
	Output:     origStderr,
	JSONFormat: true,
	Level:      hclog.LevelFromString(envOr(adapter.EnvLogLevel, "info")),
})

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func hcLogger() hclog.Logger { return logger }

// Log returns the plugin's logger. The level is the server's choice
// (HANGAR_PLUGIN_LOG_LEVEL, info by default).
func Log() Logger { return hcLog{logger} }
