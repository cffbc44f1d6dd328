package config

import (
	"crypto/tls"
	"crypto/x509"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/hangar-mq/hangar/core/server"
)

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func parseInt(s string) (int64, error) { return strconv.ParseInt(strings.TrimSpace(s), 10, 64) }

// enabledFlag reads the short forms of a jetstream setting: true/false or
// "enabled"/"disabled".
func (l *loader) enabledFlag(e entry) (bool, bool) {
	switch x := e.v.v.(type) {
	case bool:
		return x, true
	case string:
		switch lower(x) {
		case "enabled", "enable":
			return true, true
		case "disabled", "disable":
			return false, true
		}
		l.errf(e.v, "Expected 'enabled' or 'disabled' for string value, got '%s'", x)
		return false, false
	}
	l.wrongType(e.key, e.v, `true, false, "enabled", "disabled" or a block`)
	return false, false
}

// jetstream reads the server's jetstream setting.
func (l *loader) jetstream(e entry) {
	o := l.o
	m, ok := e.v.v.(map[string]any)
	if !ok {
		if on, ok := l.enabledFlag(e); ok {
			o.JetStream = on
		}
		return
	}
	o.JetStream = true
	for _, f := range entries(m) {
		v := f.v
		switch f.k {
		case "enabled", "enable":
			l.setBool(f, &o.JetStream)
		case "store_dir", "store", "storedir":
			if s, ok := l.str(f.key, v); ok {
				o.StoreDir = s
			}
		case "max_memory_store", "max_mem_store", "max_mem":
			if n, ok := l.size(f.key, v); ok {
				o.JetStreamMaxMemory = n
			}
		case "max_file_store", "max_file":
			if n, ok := l.size(f.key, v); ok {
				o.JetStreamMaxStore = n
			}
		case "domain":
			if s, ok := l.str(f.key, v); ok {
				o.JetStreamDomain = s
			}
		case "sync_interval", "sync":
			if s, ok := v.v.(string); ok && lower(s) == "always" {
				o.JetStreamSyncAlways = true
				continue
			}
			if d, ok := l.duration(f.key, v); ok {
				o.JetStreamSyncInterval = d
			}
		case "strict":
			var strict bool
			l.setBool(f, &strict)
			o.JetStreamNonStrict = !strict
		case "key", "ek", "encryption_key":
			if s, ok := l.str(f.key, v); ok {
				o.JetStreamKey = s
			}
		case "prev_key", "prev_ek", "prev_encryption_key":
			if s, ok := l.str(f.key, v); ok {
				o.JetStreamPrevKey = s
			}
		case "cipher":
			if s, ok := l.str(f.key, v); ok {
				switch lower(s) {
				case "chacha", "chachapoly":
					o.JetStreamCipher = "chachapoly"
				case "aes":
					o.JetStreamCipher = "aes"
				default:
					l.errf(v, "Unknown cipher type: %q", s)
				}
			}
		case "max_buffered_msgs":
			if n, ok := l.intIn(f.key, v, 0, math.MaxInt32); ok {
				o.JetStreamMaxBufferedMsgs = int(n)
			}
		case "max_buffered_size":
			if n, ok := l.size(f.key, v); ok {
				o.JetStreamMaxBufferedSize = n
			}
		case "request_queue_limit":
			if n, ok := l.intIn(f.key, v, 1, math.MaxInt32); ok {
				o.JetStreamRequestQueueLimit = int(n)
			}
		case "limits":
			if b, ok := l.block(f.key, v); ok {
				l.jsLimits(b)
			}
		case "backend":
			if s, ok := l.str(f.key, v); ok {
				o.JetStreamBackend, l.backendAt = s, v
			}
		case "pebble":
			if b, ok := l.block(f.key, v); ok {
				l.pebble(b)
			}
		case "unique_tag", "max_outstanding_catchup", "info_queue_limit", "tpm", "compress_ok", "extension_hint":
			l.unsupported(f)
		default:
			l.unknown(f)
		}
	}
}

func (l *loader) jsLimits(m map[string]any) {
	lim := &l.o.JetStreamLimits
	for _, e := range entries(m) {
		v := e.v
		ints := map[string]*int{
			"max_request_batch": &lim.MaxRequestBatch, "max_ack_pending": &lim.MaxAckPending,
			"max_ha_assets": &lim.MaxHAAssets, "max_batch_inflight_per_stream": &lim.MaxBatchInflightPerStream,
			"max_batch_inflight_total": &lim.MaxBatchInflightTotal, "max_batch_size": &lim.MaxBatchSize,
		}
		if p := ints[e.k]; p != nil {
			if n, ok := l.intIn(e.key, v, 0, math.MaxInt32); ok {
				*p = int(n)
			}
			continue
		}
		switch e.k {
		case "duplicate_window", "max_duplicate_window":
			lim.MaxDuplicateWindow, _ = l.duration(e.key, v)
		case "max_batch_timeout":
			lim.MaxBatchTimeout, _ = l.duration(e.key, v)
		default:
			l.unknown(e)
		}
	}
}

func (l *loader) pebble(m map[string]any) {
	p := &l.o.Pebble
	for _, e := range entries(m) {
		switch e.k {
		case "cache_size":
			p.CacheSize, _ = l.size(e.key, e.v)
		case "memtable_size":
			p.MemTableSize, _ = l.size(e.key, e.v)
		case "compaction_concurrency":
			if n, ok := l.intIn(e.key, e.v, 1, 1024); ok {
				p.CompactionConcurrency = int(n)
			}
		default:
			l.unknown(e)
		}
	}
}

// accountJetStream reads an account's jetstream setting. Limits left out
// of a block are unlimited.
func (l *loader) accountJetStream(e entry) *server.JetStreamAccountLimits {
	m, ok := e.v.v.(map[string]any)
	if !ok {
		if on, ok := l.enabledFlag(e); ok && on {
			return server.UnlimitedJetStream()
		}
		return nil
	}
	lim := server.UnlimitedJetStream()
	for _, f := range entries(m) {
		v := f.v
		switch f.k {
		case "max_mem", "max_memory":
			lim.MaxMemory, _ = l.limitSize(f)
		case "max_file", "max_store":
			lim.MaxStore, _ = l.limitSize(f)
		case "max_streams":
			if n, ok := l.intIn(f.key, v, -1, math.MaxInt32); ok {
				lim.MaxStreams = int(n)
			}
		case "max_consumers":
			if n, ok := l.intIn(f.key, v, -1, math.MaxInt32); ok {
				lim.MaxConsumers = int(n)
			}
		case "max_ack_pending":
			if n, ok := l.intIn(f.key, v, -1, math.MaxInt32); ok {
				lim.MaxAckPending = int(n)
			}
		case "max_bytes_required", "max_stream_bytes":
			l.setBool(f, &lim.MaxBytesRequired)
		case "memory_max_stream_bytes", "mem_max_stream_bytes":
			lim.MemoryMaxStreamBytes, _ = l.limitSize(f)
		case "store_max_stream_bytes", "disk_max_stream_bytes":
			lim.StoreMaxStreamBytes, _ = l.limitSize(f)
		case "cluster_traffic", "tiered_limits":
			l.unsupported(f)
		default:
			l.unknown(f)
		}
	}
	return lim
}

// limitSize reads a size where -1 means unlimited.
func (l *loader) limitSize(e entry) (int64, bool) {
	if n, ok := e.v.v.(int64); ok && n == -1 {
		return -1, true
	}
	return l.size(e.key, e.v)
}

// tls reads the client TLS block and builds its tls.Config.
func (l *loader) tls(m map[string]any) {
	o := l.o
	var certAt, keyAt, caAt val
	first := false
	for _, e := range entries(m) {
		v := e.v
		switch e.k {
		case "cert_file":
			o.TLSCertFile, _ = l.str(e.key, v)
			certAt = v
		case "key_file":
			o.TLSKeyFile, _ = l.str(e.key, v)
			keyAt = v
		case "ca_file":
			o.TLSCaFile, _ = l.str(e.key, v)
			caAt = v
		case "verify":
			l.setBool(e, &o.TLSVerify)
		case "timeout":
			o.TLSTimeout, _ = l.duration(e.key, v)
		case "handshake_first", "first", "tls_first":
			l.setBool(e, &first)
		case "verify_and_map", "map", "verify_cert_and_check_known_urls", "insecure", "cipher_suites",
			"curve_preferences", "pinned_certs", "min_version", "cert_store", "cert_match", "cert_match_by",
			"ocsp_peer", "certs", "connection_rate_limit":
			l.unsupported(e)
		default:
			l.unknown(e)
		}
	}
	o.TLSHandshakeFirst = first
	if o.TLSCertFile == "" || o.TLSKeyFile == "" {
		l.errf(certAt, "tls: cert_file and key_file are both required")
		return
	}
	cert, err := tls.LoadX509KeyPair(o.TLSCertFile, o.TLSKeyFile)
	if err != nil {
		at := certAt
		if keyAt.t != nil && strings.Contains(err.Error(), "private key") {
			at = keyAt
		}
		l.errf(at, "tls: error parsing X509 certificate/key pair: %v", err)
		return
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if o.TLSCaFile != "" {
		pem, err := os.ReadFile(o.TLSCaFile)
		if err != nil {
			l.errf(caAt, "tls: %v", err)
			return
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			l.errf(caAt, "tls: failed to parse root ca certificate %q", o.TLSCaFile)
			return
		}
		cfg.ClientCAs = pool
	}
	if o.TLSVerify {
		if cfg.ClientCAs == nil {
			// Verify against the system roots when no CA is named.
			cfg.ClientCAs, _ = x509.SystemCertPool()
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	o.TLSConfig = cfg
}

// plugins reads plugins { NAME { path, args, env, checksum } }.
func (l *loader) plugins(m map[string]any) {
	for _, e := range entries(m) {
		b, ok := l.block(e.key, e.v)
		if !ok {
			continue
		}
		pc := &server.PluginConfig{Name: e.key}
		for _, f := range entries(b) {
			switch f.k {
			case "path":
				pc.Path, _ = l.str(f.key, f.v)
			case "args":
				pc.Args, _ = l.strList(f.key, f.v)
			case "env":
				if eb, ok := l.block(f.key, f.v); ok && len(eb) > 0 {
					pc.Env = map[string]string{}
					for _, g := range entries(eb) {
						switch x := g.v.v.(type) {
						case string:
							pc.Env[g.key] = x
						case int64:
							pc.Env[g.key] = strconv.FormatInt(x, 10)
						case bool:
							pc.Env[g.key] = strconv.FormatBool(x)
						default:
							l.wrongType(g.key, g.v, "a string")
						}
					}
				}
			case "checksum":
				if s, ok := l.str(f.key, f.v); ok {
					if !strings.HasPrefix(s, "sha256:") || len(s) != len("sha256:")+64 {
						l.errf(f.v, "checksum: expected sha256:<64 hex digits>, got %q", s)
					}
					pc.Checksum = s
				}
			default:
				l.unknown(f)
			}
		}
		if pc.Path == "" {
			l.errf(e.v, "plugin %q: path is required", e.key)
		}
		l.o.Plugins = append(l.o.Plugins, pc)
	}
}
