package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hangar-mq/hangar/core/server"
)

const helpText = `Usage: hangar [run] [options]
       hangar check -c <file> [options]
       hangar version

Hangar speaks the NATS client protocol and the JetStream API. With no
options it listens on 4222, serves monitoring on 8222 and keeps JetStream
data under ./data. With -c, the config file governs instead.

Server options:
    -a, --addr, --net <host>     Bind to host address (default: 0.0.0.0)
    -p, --port <port>            Use port for clients (default: 4222, -1 random)
    -n, --name, --server_name    Server name (default: the server id)
    -m, --http_port <port>       Monitoring port (default 8222 without -c; 0 off)
    -c, --config <file>          Configuration file
    -P, --pid <file>             File to store the process id
        --client_advertise <h:p> Address advertised to clients
        --profile <port>         Serve Go profiling (pprof) on port

JetStream options:
    -js, --jetstream             Enable JetStream (default on without -c)
    -sd, --store_dir <dir>       Storage directory (default: ./data)
        --backend <name>         Store behind file streams: file (default),
                                 pebble, or a plugin name

Logging options:
    -l, --log <file>             File to redirect log output
    -T, --logtime                Timestamp log entries (default: true)
    -D, --debug                  Enable debugging output
    -V, --trace                  Trace the raw protocol
    -DV                          Debug and trace

Authorization options:
        --user <user>            User required for connections
        --pass <password>        Password required for connections
        --auth <token>           Authorization token required for connections

Common options:
    -h, --help                   Show this message
    -v, --version                Show version

With -c, options given on the command line override the file's values.
"hangar check" loads the configuration as "run" would, prints the
effective configuration (secrets redacted) and exits non-zero on error.
SIGHUP reloads the file: users, permissions, accounts and log levels.

Examples:
    hangar                               # 4222, JetStream under ./data, monitoring on 8222
    hangar run -p 4333 -m 8333 -sd /var/lib/hangar
    hangar -c /etc/hangar.conf -D        # from a config file, with debug logging
    hangar --user app --pass s3cret -js=false
`

func usage(w io.Writer) { fmt.Fprint(w, helpText) }

// cliFlags are the parsed command line; set records which were given so
// that a config file's values are only overridden by explicit flags.
type cliFlags struct {
	o      server.Options
	config string
	dv     bool
	set    map[string]bool
}

func parseFlags(args []string) (*cliFlags, error) {
	f := &cliFlags{set: map[string]bool{}}
	o := &f.o
	fs := flag.NewFlagSet("hangar", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	str := func(p *string, names ...string) {
		for _, n := range names {
			fs.StringVar(p, n, *p, "")
		}
	}
	num := func(p *int, names ...string) {
		for _, n := range names {
			fs.IntVar(p, n, *p, "")
		}
	}
	boolean := func(p *bool, names ...string) {
		for _, n := range names {
			fs.BoolVar(p, n, *p, "")
		}
	}
	o.Logtime = true
	o.JetStream = true
	str(&o.Host, "a", "addr", "net")
	num(&o.Port, "p", "port")
	str(&o.ServerName, "n", "name", "server_name")
	num(&o.HTTPPort, "m", "http_port")
	num(&o.ProfPort, "profile")
	str(&o.HTTPHost, "http_host")
	str(&f.config, "c", "config")
	str(&o.PidFile, "P", "pid")
	str(&o.ClientAdvertise, "client_advertise")
	boolean(&o.JetStream, "js", "jetstream")
	str(&o.StoreDir, "sd", "store_dir")
	str(&o.JetStreamBackend, "backend")
	str(&o.LogFile, "l", "log")
	boolean(&o.Logtime, "T", "logtime")
	boolean(&o.Debug, "D", "debug")
	boolean(&o.Trace, "V", "trace")
	boolean(&f.dv, "DV")
	str(&o.Username, "user")
	str(&o.Password, "pass")
	str(&o.Authorization, "auth")
	var help bool
	boolean(&help, "h", "help")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if help {
		return nil, flag.ErrHelp
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if f.dv {
		o.Debug, o.Trace = true, true
	}
	if f.config == "" {
		// The newcomer's default: JetStream and monitoring on.
		if !f.anySet("m", "http_port") {
			o.HTTPPort = server.DefaultHTTPPort
		}
	} else if !f.anySet("js", "jetstream") {
		o.JetStream = false
	}
	return f, nil
}

func (f *cliFlags) anySet(names ...string) bool {
	for _, n := range names {
		if f.set[n] {
			return true
		}
	}
	return false
}

func runServer(args []string) int {
	f, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(os.Stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "hangar: %v\n\n", err)
		usage(os.Stderr)
		return 1
	}
	opts, err := f.options()
	if err != nil {
		fmt.Fprintf(os.Stderr, "hangar: %v\n", err)
		return 1
	}
	logger, err := newLogger(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hangar: %v\n", err)
		return 1
	}
	s, err := NewServer(opts, logger)
	if err != nil {
		logger.Errorf("%v", err)
		return 1
	}
	// Catch signals before listening: a SIGUSR2 or SIGTERM that arrives
	// while starting must not take the default action (exit). They are
	// handled once the server is up.
	sigs := notifySignals()
	if err := s.Start(); err != nil {
		logger.Errorf("%v", err)
		return 1
	}
	if opts.ConfigFile != "" {
		s.SetReloader(f.options)
	}
	if opts.PidFile != "" {
		if err := os.WriteFile(opts.PidFile, []byte(fmt.Sprintf("%d", os.Getpid())), 0o644); err != nil {
			logger.Errorf("write pid file: %v", err)
		}
		defer os.Remove(opts.PidFile)
	}
	go handleSignals(s, sigs)
	s.WaitForShutdown()
	return 0
}

func newLogger(o *server.Options) (server.Logger, error) {
	if o.LogFile != "" {
		l, err := server.NewFileLogger(o.LogFile, o.Logtime, o.Debug, o.Trace, o.LogUTC)
		if err != nil {
			return nil, err
		}
		l.SetSizeLimit(o.LogSizeLimit)
		return l, nil
	}
	return server.NewStdLogger(os.Stderr, o.Logtime, o.Debug, o.Trace, o.LogUTC), nil
}

// notifySignals starts catching the signals the server handles.
func notifySignals() chan os.Signal {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR2, syscall.SIGHUP)
	return ch
}

// handleSignals maps signals the way the reference server does: INT and
// TERM stop, USR2 enters lame duck mode, HUP reloads the configuration.
func handleSignals(s *server.Server, ch chan os.Signal) {
	for sig := range ch {
		switch sig {
		case syscall.SIGINT, syscall.SIGTERM:
			s.Noticef("Trapped %q signal", strings.ToLower(sig.String()))
			go s.Shutdown()
		case syscall.SIGUSR2:
			go s.LameDuckShutdown()
		case syscall.SIGHUP:
			if err := s.Reload(); err != nil {
				s.Errorf("Failed to reload server configuration: %v", err)
			}
		}
	}
}
