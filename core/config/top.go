package config

import (
	"github.com/hangar-mq/hangar/core/server"
	"math"
	"net"
	"strconv"
	"strings"
)

// notYet are reference settings Hangar recognizes but does not support;
// they are errors that say so rather than "unknown".
var notYet = map[string]bool{
	"cluster": true, "gateway": true, "leafnodes": true, "leaf": true, "websocket": true, "ws": true,
	"mqtt": true, "operator": true, "operators": true, "resolver": true, "resolver_tls": true,
	"resolver_preload": true, "trusted": true, "trusted_keys": true, "https": true, "https_port": true,
	"syslog": true, "remote_syslog": true, "ocsp": true, "ocsp_cache": true, "routes": true,
	"default_js_domain": true, "proxies": true, "accounts_jwt": true, "prof_port": true,
	"disable_sublist_cache": true, "no_sublist_cache": true, "connect_error_reports": true,
	"reconnect_error_reports": true, "max_traced_msg_len": true, "ports_file_dir": true,
	"no_header_support": true, "lame_duck_mode": true, "max_closed_clients": true,
	"allow_non_tls": true, "no_fast_producer_stall": true, "max_pending_per_account": true,
}

// top handles the top level of the file.
func (l *loader) top(m map[string]any) {
	o := l.o
	for _, e := range entries(m) {
		v := e.v
		switch e.k {
		case "listen":
			l.hostPort(e.key, v, &o.Host, &o.Port)
		case "port":
			if n, ok := l.intIn(e.key, v, -1, 65535); ok {
				o.Port = int(n)
			}
		case "host", "net":
			if s, ok := l.str(e.key, v); ok {
				o.Host = s
			}
		case "client_advertise":
			if s, ok := l.str(e.key, v); ok {
				o.ClientAdvertise = s
			}
		case "http", "monitor":
			l.hostPort(e.key, v, &o.HTTPHost, &o.HTTPPort)
		case "http_host":
			if s, ok := l.str(e.key, v); ok {
				o.HTTPHost = s
			}
		case "http_port", "monitor_port":
			if n, ok := l.intIn(e.key, v, -1, 65535); ok {
				o.HTTPPort = int(n)
			}
		case "http_base_path":
			if s, ok := l.str(e.key, v); ok {
				o.HTTPBasePath = s
			}
		case "server_name":
			if s, ok := l.str(e.key, v); ok {
				if strings.ContainsAny(s, " \t\r\n") {
					l.errf(v, "server_name %q cannot contain spaces", s)
				}
				o.ServerName = s
			}
		case "server_tags":
			if t, ok := l.strList(e.key, v); ok {
				o.Tags = t
			}
		case "max_payload":
			if n, ok := l.size(e.key, v); ok {
				if n <= 0 || n > math.MaxInt32 {
					l.errf(v, "max_payload: %d is out of range [1, %d]", n, math.MaxInt32)
				}
				o.MaxPayload = int32(n)
			}
		case "max_pending":
			if n, ok := l.size(e.key, v); ok {
				o.MaxPending = n
			}
		case "max_control_line":
			if n, ok := l.size(e.key, v); ok {
				if n <= 0 || n > math.MaxInt32 {
					l.errf(v, "max_control_line: %d is out of range [1, %d]", n, math.MaxInt32)
				}
				o.MaxControlLine = int32(n)
			}
		case "max_connections", "max_conn":
			if n, ok := l.intIn(e.key, v, 0, math.MaxInt32); ok {
				o.MaxConn = int(n)
			}
		case "max_subscriptions", "max_subs":
			if n, ok := l.intIn(e.key, v, 0, math.MaxInt32); ok {
				o.MaxSubs = int(n)
			}
		case "ping_interval":
			if d, ok := l.duration(e.key, v); ok {
				o.PingInterval = d
			}
		case "ping_max":
			if n, ok := l.intIn(e.key, v, 1, math.MaxInt32); ok {
				o.MaxPingsOut = int(n)
			}
		case "write_deadline":
			if d, ok := l.duration(e.key, v); ok {
				o.WriteDeadline = d
			}
		case "lame_duck_duration":
			if d, ok := l.duration(e.key, v); ok {
				o.LameDuckDuration = d
			}
		case "lame_duck_grace_period":
			if d, ok := l.duration(e.key, v); ok {
				o.LameDuckGracePeriod = d
			}
		case "debug":
			l.setBool(e, &o.Debug)
		case "trace":
			l.setBool(e, &o.Trace)
		case "logtime":
			l.setBool(e, &o.Logtime)
		case "logtime_utc":
			l.setBool(e, &o.LogUTC)
		case "log_file", "logfile":
			if s, ok := l.str(e.key, v); ok {
				o.LogFile = s
			}
		case "logfile_size_limit", "log_size_limit":
			if n, ok := l.size(e.key, v); ok {
				o.LogSizeLimit = n
			}
		case "pid_file", "pidfile":
			if s, ok := l.str(e.key, v); ok {
				o.PidFile = s
			}
		case "authorization":
			if b, ok := l.block(e.key, v); ok {
				l.authorization(b)
			}
		case "no_auth_user":
			if s, ok := l.str(e.key, v); ok {
				o.NoAuthUser = s
				l.mark("no_auth_user", v)
			}
		case "accounts":
			if b, ok := l.block(e.key, v); ok {
				l.accounts(b)
			}
		case "system_account", "system":
			if s, ok := l.str(e.key, v); ok {
				o.SystemAccount = s
			}
		case "no_system_account", "no_sys_acc":
			l.setBool(e, &o.NoSystemAccount)
		case "mappings", "mapping":
			if b, ok := l.block(e.key, v); ok {
				o.Mappings = l.mappings(b)
			}
		case "tls":
			if b, ok := l.block(e.key, v); ok {
				l.tls(b)
			}
		case "jetstream":
			l.jetstream(e)
		case "plugins":
			if b, ok := l.block(e.key, v); ok {
				l.plugins(b)
			}
		case "plugin_dir":
			if s, ok := l.str(e.key, v); ok {
				o.PluginDir = s
			}
		default:
			if notYet[e.k] {
				l.unsupported(e)
				continue
			}
			l.unknown(e)
		}
	}
}

func (l *loader) setBool(e entry, p *bool) {
	if b, ok := l.boolean(e.key, e.v); ok {
		*p = b
	}
}

// hostPort reads "host:port", ":port", "host" or a bare port.
func (l *loader) hostPort(name string, v val, host *string, port *int) {
	switch x := v.v.(type) {
	case int64:
		if x < -1 || x > 65535 {
			l.errf(v, "%s: port %d is out of range", name, x)
			return
		}
		*port = int(x)
	case string:
		h, p, err := net.SplitHostPort(x)
		if err != nil {
			// No port: a bare host.
			if strings.Contains(x, ":") && !strings.Contains(x, "::") {
				l.errf(v, "%s: could not parse address %q", name, x)
				return
			}
			*host = x
			return
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < -1 || n > 65535 {
			l.errf(v, "%s: invalid port in %q", name, x)
			return
		}
		if h != "" {
			*host = h
		}
		*port = n
	default:
		l.wrongType(name, v, `"host:port" or a port number`)
	}
}

// validate checks what spans several settings, so that `hangar check`
// reports those errors with their place in the file too.
func (l *loader) validate() {
	o := l.o
	users := map[string]bool{}
	all := append([]*server.User(nil), o.Users...)
	nkeys := map[string]bool{}
	allNkeys := append([]*server.NkeyUser(nil), o.Nkeys...)
	for _, ac := range o.Accounts {
		all = append(all, ac.Users...)
		allNkeys = append(allNkeys, ac.Nkeys...)
	}
	for _, u := range all {
		if users[u.Username] {
			l.errf(l.at[u], "Duplicate user %q detected", u.Username)
		}
		users[u.Username] = true
	}
	for _, n := range allNkeys {
		if nkeys[n.Nkey] {
			l.errf(l.at[n], "Duplicate nkey %q detected", n.Nkey)
		}
		nkeys[n.Nkey] = true
	}
	if len(o.Users) > 0 && o.Authorization != "" {
		l.errf(l.at["token"], "Can not have a token and a users array")
	}
	if len(o.Users) > 0 && o.Username != "" {
		l.errf(l.at["user"], "Can not have a single user/pass and a users array")
	}
	if o.Username != "" && o.Authorization != "" {
		l.errf(l.at["token"], "Cannot have a user/pass and token")
	}
	if o.NoAuthUser != "" && !users[o.NoAuthUser] {
		l.errf(l.at["no_auth_user"], "no_auth_user %q not present as user", o.NoAuthUser)
	}
	for _, ac := range o.Accounts {
		for _, ic := range ac.Imports {
			if err := server.ValidateImport(o, ac.Name, ic); err != nil {
				l.errf(l.at[ic], "%v", err)
			}
		}
	}
	if b := o.JetStreamBackend; b != "" && b != "file" && b != "pebble" && o.PluginDir == "" {
		found := false
		for _, p := range o.Plugins {
			found = found || p.Name == b
		}
		if !found {
			l.errf(l.backendAt, "jetstream.backend: %q is neither file, pebble nor a plugin declared in plugins {}", b)
		}
	}
}
