package app

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hangar-mq/hangar/core/config"
	"github.com/hangar-mq/hangar/core/server"
)

// overrides copy a flag's value from the command line onto options read
// from a file, keyed by every name the flag has.
var overrides = []struct {
	names []string
	apply func(dst, src *server.Options)
}{
	{[]string{"a", "addr", "net"}, func(d, s *server.Options) { d.Host = s.Host }},
	{[]string{"p", "port"}, func(d, s *server.Options) { d.Port = s.Port }},
	{[]string{"n", "name", "server_name"}, func(d, s *server.Options) { d.ServerName = s.ServerName }},
	{[]string{"m", "http_port"}, func(d, s *server.Options) { d.HTTPPort = s.HTTPPort }},
	{[]string{"http_host"}, func(d, s *server.Options) { d.HTTPHost = s.HTTPHost }},
	{[]string{"profile"}, func(d, s *server.Options) { d.ProfPort = s.ProfPort }},
	{[]string{"client_advertise"}, func(d, s *server.Options) { d.ClientAdvertise = s.ClientAdvertise }},
	{[]string{"P", "pid"}, func(d, s *server.Options) { d.PidFile = s.PidFile }},
	{[]string{"js", "jetstream"}, func(d, s *server.Options) { d.JetStream = s.JetStream }},
	{[]string{"sd", "store_dir"}, func(d, s *server.Options) { d.StoreDir = s.StoreDir }},
	{[]string{"l", "log"}, func(d, s *server.Options) { d.LogFile = s.LogFile }},
	{[]string{"T", "logtime"}, func(d, s *server.Options) { d.Logtime = s.Logtime }},
	{[]string{"D", "debug", "DV"}, func(d, s *server.Options) { d.Debug = s.Debug }},
	{[]string{"V", "trace", "DV"}, func(d, s *server.Options) { d.Trace = s.Trace }},
	{[]string{"user"}, func(d, s *server.Options) { d.Username = s.Username }},
	{[]string{"pass"}, func(d, s *server.Options) { d.Password = s.Password }},
	{[]string{"auth"}, func(d, s *server.Options) { d.Authorization = s.Authorization }},
}

// options reads the config file (if any) and lays the flags that were
// given over it. Reload calls it again, so a flag keeps winning.
func (f *cliFlags) options() (*server.Options, error) {
	if f.config == "" {
		o := f.o
		return &o, nil
	}
	o, err := config.Load(f.config)
	if err != nil {
		return nil, err
	}
	for _, ov := range overrides {
		if f.anySet(ov.names...) {
			ov.apply(o, &f.o)
		}
	}
	return o, nil
}

// checkConfig is `hangar check`: load the configuration as run would,
// validate it by building (not starting) the server, print the effective
// configuration.
func checkConfig(args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "hangar: %v\n", err)
		return 2
	}
	if f.config == "" {
		fmt.Fprintln(stderr, "hangar check: -c <file> is required")
		return 2
	}
	o, err := f.options()
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	eff := o.Clone()
	eff.SetDefaults()
	if _, err := server.New(o); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", f.config, err)
		return 1
	}
	fmt.Fprintf(stdout, "# effective configuration of %s (defaults filled in, secrets redacted)\n", f.config)
	fmt.Fprint(stdout, config.Format(eff, config.FormatOptions{Redact: true}))
	fmt.Fprintf(stderr, "hangar: configuration file %s is valid\n", f.config)
	return 0
}
