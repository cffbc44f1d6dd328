package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hangar-mq/hangar/core/server"
)

// FormatOptions control Format.
type FormatOptions struct {
	// Redact replaces passwords, tokens and encryption keys.
	Redact bool
}

const redacted = "<redacted>"

// Format writes o as a configuration file that Load reads back into the
// same options. Settings at their zero value are left out, so run
// SetDefaults first to show the defaults too.
func Format(o *server.Options, fo FormatOptions) string {
	w := &writer{redact: fo.Redact}
	w.str("server_name", o.ServerName)
	w.str("host", o.Host)
	w.num("port", int64(o.Port))
	w.str("client_advertise", o.ClientAdvertise)
	w.str("http_host", o.HTTPHost)
	w.num("http_port", int64(o.HTTPPort))
	w.str("http_base_path", o.HTTPBasePath)
	w.list("server_tags", o.Tags)
	w.num("max_payload", int64(o.MaxPayload))
	w.num("max_pending", o.MaxPending)
	w.num("max_control_line", int64(o.MaxControlLine))
	w.num("max_connections", int64(o.MaxConn))
	w.num("max_subscriptions", int64(o.MaxSubs))
	w.dur("ping_interval", o.PingInterval)
	w.num("ping_max", int64(o.MaxPingsOut))
	w.dur("write_deadline", o.WriteDeadline)
	w.dur("lame_duck_duration", o.LameDuckDuration)
	w.dur("lame_duck_grace_period", o.LameDuckGracePeriod)
	w.flag("debug", o.Debug)
	w.flag("trace", o.Trace)
	w.flag("logtime", o.Logtime)
	w.flag("logtime_utc", o.LogUTC)
	w.str("log_file", o.LogFile)
	w.num("logfile_size_limit", o.LogSizeLimit)
	w.str("pid_file", o.PidFile)
	if o.Username != "" || o.Password != "" || o.Authorization != "" || len(o.Users) > 0 || len(o.Nkeys) > 0 ||
		o.Permissions != nil || o.DefaultPermissions != nil || o.AuthTimeout != 0 {
		w.open("authorization")
		w.str("user", o.Username)
		w.secret("password", o.Password)
		w.secret("token", o.Authorization)
		w.dur("timeout", o.AuthTimeout)
		w.perms("permissions", o.Permissions)
		w.perms("default_permissions", o.DefaultPermissions)
		w.users(o.Users, o.Nkeys)
		w.close()
	}
	w.str("no_auth_user", o.NoAuthUser)
	if len(o.Accounts) > 0 {
		w.open("accounts")
		for _, ac := range o.Accounts {
			w.account(ac)
		}
		w.close()
	}
	w.str("system_account", o.SystemAccount)
	w.flag("no_system_account", o.NoSystemAccount)
	w.mappings(o.Mappings)
	if o.TLSCertFile != "" || o.TLSKeyFile != "" {
		w.open("tls")
		w.str("cert_file", o.TLSCertFile)
		w.str("key_file", o.TLSKeyFile)
		w.str("ca_file", o.TLSCaFile)
		w.flag("verify", o.TLSVerify)
		w.dur("timeout", o.TLSTimeout)
		w.flag("handshake_first", o.TLSHandshakeFirst)
		w.close()
	}
	w.jetstream(o)
	if len(o.Plugins) > 0 {
		w.open("plugins")
		for _, p := range o.Plugins {
			w.open(quoteKey(p.Name))
			w.str("path", p.Path)
			w.list("args", p.Args)
			if len(p.Env) > 0 {
				w.open("env")
				keys := make([]string, 0, len(p.Env))
				for k := range p.Env {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					w.line(quoteKey(k) + ": " + quote(p.Env[k]))
				}
				w.close()
			}
			w.str("checksum", p.Checksum)
			w.close()
		}
		w.close()
	}
	w.str("plugin_dir", o.PluginDir)
	return w.b.String()
}

type writer struct {
	b      strings.Builder
	depth  int
	redact bool
}

func (w *writer) line(s string) {
	w.b.WriteString(strings.Repeat("  ", w.depth))
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

func (w *writer) open(key string) {
	if key == "" {
		w.line("{")
	} else {
		w.line(key + " {")
	}
	w.depth++
}
func (w *writer) close() { w.depth--; w.line("}") }

func (w *writer) str(k, v string) {
	if v != "" {
		w.line(k + ": " + quote(v))
	}
}

func (w *writer) secret(k, v string) {
	if v != "" && w.redact {
		v = redacted
	}
	w.str(k, v)
}

func (w *writer) num(k string, v int64) {
	if v != 0 {
		w.line(k + ": " + strconv.FormatInt(v, 10))
	}
}

func (w *writer) flag(k string, v bool) {
	if v {
		w.line(k + ": true")
	}
}

func (w *writer) dur(k string, d time.Duration) {
	if d != 0 {
		w.line(k + ": " + quote(d.String()))
	}
}

func (w *writer) list(k string, vs []string) {
	if vs != nil {
		w.line(k + ": " + quoteList(vs))
	}
}

// quote writes a double-quoted string the conf lexer reads back as is.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(s) + `"`
}

// quoteKey quotes a key that is not a plain word. Quoted keys have no
// escapes in the format, so a key holding a double quote is single-quoted.
func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for _, r := range k {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			if strings.Contains(k, `"`) && !strings.Contains(k, "'") {
				return "'" + k + "'"
			}
			return `"` + k + `"`
		}
	}
	return k
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func (w *writer) perms(k string, p *server.Permissions) {
	if p == nil {
		return
	}
	w.open(k)
	sp := func(k string, s *server.SubjectPermission) {
		if s == nil {
			return
		}
		w.open(k)
		w.list("allow", s.Allow)
		w.list("deny", s.Deny)
		w.close()
	}
	sp("publish", p.Publish)
	sp("subscribe", p.Subscribe)
	if r := p.Response; r != nil {
		w.line(fmt.Sprintf("allow_responses: { max: %d, expires: %s }", r.MaxMsgs, quote(r.Expires.String())))
	}
	w.close()
}

func (w *writer) users(users []*server.User, nks []*server.NkeyUser) {
	if len(users) == 0 && len(nks) == 0 {
		return
	}
	w.line("users: [")
	w.depth++
	for _, u := range users {
		w.open("")
		w.str("user", u.Username)
		w.secret("password", u.Password)
		w.list("allowed_connection_types", u.AllowedConnectionTypes)
		w.perms("permissions", u.Permissions)
		w.close()
	}
	for _, n := range nks {
		w.open("")
		w.str("nkey", n.Nkey)
		w.perms("permissions", n.Permissions)
		w.close()
	}
	w.depth--
	w.line("]")
}

func (w *writer) account(ac *server.AccountConfig) {
	w.open(quoteKey(ac.Name))
	w.users(ac.Users, ac.Nkeys)
	if len(ac.Exports) > 0 {
		w.line("exports: [")
		w.depth++
		for _, e := range ac.Exports {
			kind := "stream"
			if e.Service {
				kind = "service"
			}
			s := "{ " + kind + ": " + quote(e.Subject)
			if e.Accounts != nil {
				s += ", accounts: " + quoteList(e.Accounts)
			}
			if e.ResponseType != "" {
				s += ", response_type: " + quote(e.ResponseType)
			}
			if e.ResponseThreshold != 0 {
				s += ", response_threshold: " + quote(e.ResponseThreshold.String())
			}
			w.line(s + " }")
		}
		w.depth--
		w.line("]")
	}
	if len(ac.Imports) > 0 {
		w.line("imports: [")
		w.depth++
		for _, im := range ac.Imports {
			kind := "stream"
			if im.Service {
				kind = "service"
			}
			s := fmt.Sprintf("{ %s: { account: %s, subject: %s }", kind, quote(im.Account), quote(im.Subject))
			if im.To != "" {
				s += ", to: " + quote(im.To)
			}
			w.line(s + " }")
		}
		w.depth--
		w.line("]")
	}
	if j := ac.JetStream; j != nil {
		w.open("jetstream")
		w.line(fmt.Sprintf("max_mem: %d", j.MaxMemory))
		w.line(fmt.Sprintf("max_file: %d", j.MaxStore))
		w.line(fmt.Sprintf("max_streams: %d", j.MaxStreams))
		w.line(fmt.Sprintf("max_consumers: %d", j.MaxConsumers))
		w.line(fmt.Sprintf("max_ack_pending: %d", j.MaxAckPending))
		w.flag("max_bytes_required", j.MaxBytesRequired)
		w.line(fmt.Sprintf("memory_max_stream_bytes: %d", j.MemoryMaxStreamBytes))
		w.line(fmt.Sprintf("store_max_stream_bytes: %d", j.StoreMaxStreamBytes))
		w.close()
	}
	w.perms("default_permissions", ac.DefaultPermissions)
	w.mappings(ac.Mappings)
	w.close()
}

func (w *writer) mappings(ms []*server.MappingConfig) {
	if len(ms) == 0 {
		return
	}
	w.open("mappings")
	for _, m := range ms {
		if len(m.Destinations) == 1 && m.Destinations[0].Weight == 100 {
			w.line(quoteKey(m.Source) + ": " + quote(m.Destinations[0].Subject))
			continue
		}
		var ds []string
		for _, d := range m.Destinations {
			ds = append(ds, fmt.Sprintf("{ destination: %s, weight: %d }", quote(d.Subject), d.Weight))
		}
		w.line(quoteKey(m.Source) + ": [" + strings.Join(ds, ", ") + "]")
	}
	w.close()
}

func (w *writer) jetstream(o *server.Options) {
	if o.StoreDir == "" && reflect.DeepEqual(jsFields(o), jsFields(&server.Options{})) {
		if o.JetStream {
			w.line("jetstream: enabled")
		}
		return
	}
	w.open("jetstream")
	if !o.JetStream {
		w.line("enabled: false")
	}
	w.str("store_dir", o.StoreDir)
	w.num("max_memory_store", o.JetStreamMaxMemory)
	w.num("max_file_store", o.JetStreamMaxStore)
	w.str("domain", o.JetStreamDomain)
	if o.JetStreamSyncAlways {
		w.line(`sync_interval: "always"`)
	} else {
		w.dur("sync_interval", o.JetStreamSyncInterval)
	}
	if o.JetStreamNonStrict {
		w.line("strict: false")
	}
	w.secret("key", o.JetStreamKey)
	w.secret("prev_key", o.JetStreamPrevKey)
	w.str("cipher", o.JetStreamCipher)
	w.num("max_buffered_msgs", int64(o.JetStreamMaxBufferedMsgs))
	w.num("max_buffered_size", o.JetStreamMaxBufferedSize)
	w.num("request_queue_limit", int64(o.JetStreamRequestQueueLimit))
	if l := o.JetStreamLimits; l != (server.JetStreamServerLimits{}) {
		w.open("limits")
		w.num("max_request_batch", int64(l.MaxRequestBatch))
		w.num("max_ack_pending", int64(l.MaxAckPending))
		w.num("max_ha_assets", int64(l.MaxHAAssets))
		w.dur("duplicate_window", l.MaxDuplicateWindow)
		w.num("max_batch_inflight_per_stream", int64(l.MaxBatchInflightPerStream))
		w.num("max_batch_inflight_total", int64(l.MaxBatchInflightTotal))
		w.num("max_batch_size", int64(l.MaxBatchSize))
		w.dur("max_batch_timeout", l.MaxBatchTimeout)
		w.close()
	}
	w.str("backend", o.JetStreamBackend)
	if p := o.Pebble; p != (server.PebbleOptions{}) {
		w.open("pebble")
		w.num("cache_size", p.CacheSize)
		w.num("memtable_size", p.MemTableSize)
		w.num("compaction_concurrency", int64(p.CompactionConcurrency))
		w.close()
	}
	w.close()
}

// jsFields are the settings of the jetstream block, for telling whether
// any is set.
func jsFields(o *server.Options) []any {
	return []any{o.JetStreamDomain, o.JetStreamMaxMemory, o.JetStreamMaxStore, o.JetStreamSyncInterval,
		o.JetStreamSyncAlways, o.JetStreamBackend, o.JetStreamNonStrict, o.JetStreamKey, o.JetStreamPrevKey,
		o.JetStreamCipher, o.JetStreamMaxBufferedMsgs, o.JetStreamMaxBufferedSize, o.JetStreamRequestQueueLimit,
		o.JetStreamLimits, o.Pebble}
}
