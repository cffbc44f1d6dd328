package server

import (
	"crypto/tls"
	"time"
)

// Defaults follow the reference server so that clients and operators meet
// the numbers they know.
const (
	DefaultHost            = "0.0.0.0"
	DefaultPort            = 4222
	DefaultHTTPPort        = 8222
	DefaultMaxPayload      = 1024 * 1024
	DefaultMaxControlLine  = 4096
	DefaultMaxPending      = 64 * 1024 * 1024
	DefaultMaxConnections  = 64 * 1024
	DefaultPingInterval    = 2 * time.Minute
	DefaultMaxPingsOut     = 2
	DefaultWriteDeadline   = 10 * time.Second
	DefaultAuthTimeout     = 2 * time.Second
	DefaultTLSTimeout      = 2 * time.Second
	DefaultLameDuckPeriod  = 2 * time.Minute
	DefaultLameDuckGrace   = 10 * time.Second
	DefaultMaxClosedConns  = 10000
	DefaultStoreDir        = "./data"
	DefaultMaxHeaderLength = 64 * 1024
)

// Options configure a Server. The zero value of a field means its default,
// applied by SetDefaults; negative ports mean "pick a random free port".
type Options struct {
	ServerName string
	Host       string
	Port       int
	// ClientAdvertise is the host:port advertised to clients instead of
	// the listen address.
	ClientAdvertise string

	HTTPHost string
	// HTTPPort enables monitoring when non-zero; -1 picks a random port.
	HTTPPort int
	// ProfPort serves net/http/pprof when non-zero.
	ProfPort int
	// HTTPBasePath prefixes every monitoring endpoint.
	HTTPBasePath string

	MaxPayload      int32
	MaxControlLine  int32
	MaxPending      int64
	MaxConn         int
	MaxSubs         int
	PingInterval    time.Duration
	MaxPingsOut     int
	WriteDeadline   time.Duration
	NoHeaderSupport bool

	LameDuckDuration    time.Duration
	LameDuckGracePeriod time.Duration
	MaxClosedClients    int

	// Logging.
	Debug   bool
	Trace   bool
	Logtime bool
	LogFile string
	// LogSizeLimit rotates the log file when it grows past this many bytes.
	LogSizeLimit int64
	NoLog        bool
	Syslog       bool
	LogUTC       bool

	// Simple single-user authentication from the command line.
	Username      string
	Password      string
	Authorization string // token
	AuthTimeout   time.Duration
	NoAuthUser    string
	// Permissions apply to the single Username/Password or token user.
	Permissions *Permissions
	// DefaultPermissions apply to users of the global account that have
	// no permissions of their own (authorization.default_permissions).
	DefaultPermissions *Permissions
	// Mappings rewrite published subjects in the global account.
	Mappings []*MappingConfig

	// Multi-user and multi-account authentication (config file).
	Users           []*User
	Nkeys           []*NkeyUser
	Accounts        []*AccountConfig
	SystemAccount   string
	NoSystemAccount bool

	// TLS for client connections.
	TLSConfig         *tls.Config
	TLSCertFile       string
	TLSKeyFile        string
	TLSCaFile         string
	TLSTimeout        time.Duration
	TLSVerify         bool
	TLSHandshakeFirst bool
	TLSMap            bool

	// JetStream (the `jetstream {}` block and -js/-sd).
	JetStream          bool
	StoreDir           string
	JetStreamDomain    string
	JetStreamMaxMemory int64 // 0: 75% of RAM, as the reference
	JetStreamMaxStore  int64 // 0: 1 TiB or the disk, as the reference
	// JetStreamSyncInterval > 0 selects interval fsync (the reference's
	// default mode); 0 means Hangar's default: fsync before every ack.
	JetStreamSyncInterval time.Duration
	// JetStreamSyncAlways is `sync_interval: always`.
	JetStreamSyncAlways bool
	// JetStreamBackend names the store behind `storage: file` streams:
	// "file" (default), "pebble", or a plugin name.
	JetStreamBackend string
	// JetStreamNonStrict is `strict: false`: unknown request fields are
	// tolerated instead of rejected.
	JetStreamNonStrict bool
	// Encryption at rest.
	JetStreamKey     string
	JetStreamPrevKey string
	JetStreamCipher  string // "chachapoly" (default) or "aes"
	// Ingest queue limits per stream.
	JetStreamMaxBufferedMsgs   int
	JetStreamMaxBufferedSize   int64
	JetStreamRequestQueueLimit int
	// Server-wide JetStream limits (`jetstream { limits {} }`).
	JetStreamLimits JetStreamServerLimits
	// Pebble tuning (`jetstream { pebble {} }`).
	Pebble PebbleOptions
	// External plugins (`plugins { NAME { path, args, env, checksum } }`)
	// and a directory scanned for more.
	Plugins   []*PluginConfig
	PluginDir string

	// Tags are free-form server tags reported in varz.
	Tags []string

	// ConfigFile is the path the options were read from, if any.
	ConfigFile string
	// PidFile is where the process id is written.
	PidFile string

	// NoSigs disables signal handling (for embedding and tests).
	NoSigs bool
}

// User is a user/password identity with optional permissions.
type User struct {
	Username               string
	Password               string
	Account                string
	Permissions            *Permissions
	AllowedConnectionTypes []string
}

// NkeyUser is an identity proven by signing the server nonce.
type NkeyUser struct {
	Nkey        string
	Account     string
	Permissions *Permissions
}

// Permissions are per-user publish and subscribe rules.
type Permissions struct {
	Publish   *SubjectPermission
	Subscribe *SubjectPermission
	Response  *ResponsePermission
}

// SubjectPermission holds allow and deny lists of subjects (wildcards ok).
type SubjectPermission struct {
	Allow []string
	Deny  []string
}

// ResponsePermission lets a user publish to reply subjects of requests it
// received, MaxMsgs times within Expires.
type ResponsePermission struct {
	MaxMsgs int
	Expires time.Duration
}

// AccountConfig declares an account from the config file.
type AccountConfig struct {
	Name    string
	Users   []*User
	Nkeys   []*NkeyUser
	Exports []*ExportConfig
	Imports []*ImportConfig
	// JetStream enables JetStream for the account with these limits; nil
	// leaves it disabled (see Account.JetStreamLimits for the rule).
	JetStream *JetStreamAccountLimits
	// DefaultPermissions apply to the account's users that have none.
	DefaultPermissions *Permissions
	// Mappings rewrite published subjects inside the account.
	Mappings []*MappingConfig
}

// MappingConfig rewrites a published subject matching Source into one of
// Destinations, chosen by weight. With a single destination of weight 100
// (or 0) it always applies; when the weights sum below 100 the rest of the
// messages keep their subject.
type MappingConfig struct {
	Source       string
	Destinations []*MapDestination
}

// MapDestination is one weighted target of a mapping. Subject may use the
// source's wildcards as $1 or {{wildcard(1)}}, and end in > for the rest.
type MapDestination struct {
	Subject string
	Weight  uint8
}

// ExportConfig makes a stream (Service false) or service available to other
// accounts; Accounts restricts who may import it.
type ExportConfig struct {
	Subject  string
	Service  bool
	Accounts []string
	// ResponseType is Singleton (default), Stream or Chunked: how many
	// responses may flow back per request.
	ResponseType string
	// ResponseThreshold bounds how long a response may take (default 2m).
	ResponseThreshold time.Duration
}

// ImportConfig brings another account's export into this account.
type ImportConfig struct {
	Account string
	Subject string
	// To is the local subject: for a service, what importers publish to;
	// for a stream, where messages land (a `prefix` becomes To = prefix +
	// "." + Subject). Wildcards map by position. Empty means Subject.
	To      string
	Service bool
}

// JetStreamAccountLimits are per-account JetStream limits; -1 is unlimited.
type JetStreamAccountLimits struct {
	MaxMemory            int64
	MaxStore             int64
	MaxStreams           int
	MaxConsumers         int
	MaxAckPending        int
	MaxBytesRequired     bool
	MemoryMaxStreamBytes int64
	StoreMaxStreamBytes  int64
}

// JetStreamServerLimits are the reference's `jetstream.limits` settings.
type JetStreamServerLimits struct {
	MaxRequestBatch           int
	MaxAckPending             int
	MaxHAAssets               int
	MaxDuplicateWindow        time.Duration
	MaxBatchInflightPerStream int
	MaxBatchInflightTotal     int
	MaxBatchSize              int
	MaxBatchTimeout           time.Duration
}

// UnlimitedJetStream returns account limits with every bound lifted, what
// `jetstream: enabled` in an account means.
func UnlimitedJetStream() *JetStreamAccountLimits {
	return &JetStreamAccountLimits{MaxMemory: -1, MaxStore: -1, MaxStreams: -1, MaxConsumers: -1,
		MaxAckPending: -1, MemoryMaxStreamBytes: -1, StoreMaxStreamBytes: -1}
}

// PebbleOptions tune the Pebble-indexed store.
type PebbleOptions struct {
	CacheSize             int64
	MemTableSize          int64
	CompactionConcurrency int
}

// PluginConfig names an external plugin binary.
type PluginConfig struct {
	Name string
	Path string
	Args []string
	Env  map[string]string
	// Checksum pins the binary: "sha256:<hex>".
	Checksum string
}

// SetDefaults fills zero fields with their defaults.
func (o *Options) SetDefaults() {
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.HTTPHost == "" {
		o.HTTPHost = o.Host
	}
	if o.MaxPayload == 0 {
		o.MaxPayload = DefaultMaxPayload
	}
	if o.MaxControlLine == 0 {
		o.MaxControlLine = DefaultMaxControlLine
	}
	if o.MaxPending == 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.MaxConn == 0 {
		o.MaxConn = DefaultMaxConnections
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.MaxPingsOut == 0 {
		o.MaxPingsOut = DefaultMaxPingsOut
	}
	if o.WriteDeadline == 0 {
		o.WriteDeadline = DefaultWriteDeadline
	}
	if o.AuthTimeout == 0 {
		o.AuthTimeout = DefaultAuthTimeout
	}
	if o.TLSTimeout == 0 {
		o.TLSTimeout = DefaultTLSTimeout
	}
	if o.LameDuckDuration == 0 {
		o.LameDuckDuration = DefaultLameDuckPeriod
	}
	if o.LameDuckGracePeriod == 0 {
		o.LameDuckGracePeriod = DefaultLameDuckGrace
	}
	if o.MaxClosedClients == 0 {
		o.MaxClosedClients = DefaultMaxClosedConns
	}
	if o.StoreDir == "" {
		o.StoreDir = DefaultStoreDir
	}
}

// Clone returns a shallow copy of o that is safe to adjust.
func (o *Options) Clone() *Options {
	c := *o
	return &c
}
