package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Version is Hangar's own version.
var Version = "0.1.0"

// ProtocolVersion is the NATS server version Hangar reports in INFO and
// monitoring. Clients gate features on it, so it names the reference
// release whose client-visible behaviour Hangar implements.
const ProtocolVersion = "2.14.0"

// GitCommit is set at build time.
var GitCommit = ""

// Server is one Hangar server.
type Server struct {
	opts   *Options
	log    Logger
	id     string
	name   string
	start  time.Time
	info   serverInfo
	ln     net.Listener
	http   *http.Server
	httpLn net.Listener

	// mu guards the fields below. Lock order: Server.mu, Account.mu, Client.mu.
	mu         sync.Mutex
	clients    map[uint64]*Client
	accounts   map[string]*Account
	gacc       *Account
	sysAcc     *Account
	closed     *closedRing
	running    bool
	shutdown   bool
	ldm        bool
	totalConns uint64
	extensions []Extension
	reload     func() (*Options, error)
	// cfgOpts are the options as configured (defaults applied, before
	// Start resolves random ports): what a reload is compared with.
	cfgOpts *Options

	// reloadMu serializes reloads (SIGHUP and Reload may race). It is
	// taken before Server.mu.
	reloadMu sync.Mutex
	// auth is what CONNECT is checked against; reload swaps it.
	auth atomic.Pointer[authState]
	sys  sysState

	cid           atomic.Uint64
	grWG          sync.WaitGroup
	done          chan struct{}
	inMsgs        atomic.Int64
	inBytes       atomic.Int64
	outMsgs       atomic.Int64
	outBytes      atomic.Int64
	slowConsumers atomic.Int64
	httpReqs      sync.Map
	configTime    time.Time
	monExt        monitorExt
	// stallThreshold is the pending size at which producers are slowed.
	stallThreshold int64
	regOnce        sync.Once
	registry       *prometheus.Registry
}

// Extension is a component assembled into the server (the JetStream
// runtime): it starts after the listeners are up and stops before clients
// are closed.
type Extension interface {
	Name() string
	Start(s *Server) error
	Shutdown()
}

type serverInfo struct {
	ID           string   `json:"server_id"`
	Name         string   `json:"server_name"`
	Version      string   `json:"version"`
	Proto        int      `json:"proto"`
	GitCommit    string   `json:"git_commit,omitempty"`
	GoVersion    string   `json:"go"`
	Host         string   `json:"host"`
	Port         int      `json:"port"`
	Headers      bool     `json:"headers"`
	AuthRequired bool     `json:"auth_required,omitempty"`
	TLSRequired  bool     `json:"tls_required,omitempty"`
	TLSVerify    bool     `json:"tls_verify,omitempty"`
	TLSAvailable bool     `json:"tls_available,omitempty"`
	MaxPayload   int32    `json:"max_payload"`
	JetStream    bool     `json:"jetstream,omitempty"`
	APILevel     int      `json:"api_lvl,omitempty"`
	Domain       string   `json:"domain,omitempty"`
	ClientID     uint64   `json:"client_id,omitempty"`
	ClientIP     string   `json:"client_ip,omitempty"`
	Nonce        string   `json:"nonce,omitempty"`
	ConnectURLs  []string `json:"connect_urls,omitempty"`
	LameDuckMode bool     `json:"ldm,omitempty"`
	Cluster      string   `json:"cluster,omitempty"`
	Xkey         string   `json:"xkey,omitempty"`
}

// New validates opts and returns a server that is not yet listening.
func New(opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	o := opts.Clone()
	o.SetDefaults()
	if o.MaxPayload < 0 {
		return nil, fmt.Errorf("server: max_payload must be positive")
	}
	if int64(o.MaxPayload) > o.MaxPending {
		return nil, fmt.Errorf("server: max_payload (%d) cannot be higher than max_pending (%d)", o.MaxPayload, o.MaxPending)
	}
	s := &Server{
		opts:       o,
		log:        nopLogger{},
		id:         newServerID(),
		start:      time.Now(),
		clients:    make(map[uint64]*Client),
		accounts:   make(map[string]*Account),
		closed:     newClosedRing(o.MaxClosedClients),
		done:       make(chan struct{}),
		configTime: time.Now(),
	}
	s.stallThreshold = min(o.MaxPending/4, 4<<20)
	s.name = o.ServerName
	if s.name == "" {
		s.name = s.id
	}
	s.gacc = newAccount(s, GlobalAccountName)
	s.accounts[GlobalAccountName] = s.gacc
	st, err := s.applyAccounts(o)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.auth.Store(st)
	s.cfgOpts = o.Clone()
	s.info = serverInfo{
		ID: s.id, Name: s.name, Version: ProtocolVersion, Proto: 1, GitCommit: GitCommit,
		GoVersion: runtime.Version(), Host: o.Host, Port: o.Port, Headers: !o.NoHeaderSupport,
		MaxPayload: o.MaxPayload, AuthRequired: s.authRequired(),
		TLSRequired: o.TLSConfig != nil && !o.TLSHandshakeFirst || o.TLSHandshakeFirst,
		TLSVerify:   o.TLSConfig != nil && o.TLSVerify,
	}
	if o.TLSConfig == nil {
		s.info.TLSRequired = false
	}
	s.startSysHandlers()
	return s, nil
}

// SetLogger sets the logger; call before Start.
func (s *Server) SetLogger(l Logger) {
	if l == nil {
		l = nopLogger{}
	}
	s.log = l
}

// Logger returns the server's logger.
func (s *Server) Logger() Logger { return s.log }

// Options returns the server's effective options. Treat as read-only.
func (s *Server) Options() *Options { return s.opts }

// ID returns the server's public id.
func (s *Server) ID() string { return s.id }

// Name returns the server name (its id when none was configured).
func (s *Server) Name() string { return s.name }

// Noticef logs at info level.
func (s *Server) Noticef(f string, v ...any) { s.log.Noticef(f, v...) }

// Warnf logs a warning.
func (s *Server) Warnf(f string, v ...any) { s.log.Warnf(f, v...) }

// Errorf logs an error.
func (s *Server) Errorf(f string, v ...any) { s.log.Errorf(f, v...) }

// Debugf logs at debug level.
func (s *Server) Debugf(f string, v ...any) { s.log.Debugf(f, v...) }

// Tracef logs at trace level.
func (s *Server) Tracef(f string, v ...any) { s.log.Tracef(f, v...) }

// AddExtension registers a component to start with the server.
func (s *Server) AddExtension(e Extension) {
	s.mu.Lock()
	s.extensions = append(s.extensions, e)
	s.mu.Unlock()
}

// SetJetStreamInfo updates what INFO advertises about JetStream.
func (s *Server) SetJetStreamInfo(enabled bool, apiLevel int, domain string) {
	s.mu.Lock()
	s.info.JetStream = enabled
	s.info.APILevel = apiLevel
	s.info.Domain = domain
	s.mu.Unlock()
}

// GlobalAccount returns the default account.
func (s *Server) GlobalAccount() *Account { return s.gacc }

// SystemAccount returns the system account, or nil.
func (s *Server) SystemAccount() *Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sysAcc
}

// LookupAccount returns the named account.
func (s *Server) LookupAccount(name string) (*Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[name]
	return a, ok
}

// Accounts returns every account.
func (s *Server) Accounts() []*Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Account, 0, len(s.accounts))
	for _, a := range s.accounts {
		out = append(out, a)
	}
	return out
}

// RegisterAccount returns the named account, creating it if needed.
func (s *Server) RegisterAccount(name string) *Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registerAccountLocked(name)
}

func (s *Server) registerAccountLocked(name string) *Account {
	if a, ok := s.accounts[name]; ok {
		return a
	}
	a := newAccount(s, name)
	s.accounts[name] = a
	return a
}

// Start opens the client listener (and monitoring, if configured) and
// starts accepting. It returns once the listeners are up.
func (s *Server) Start() error {
	o := s.opts
	s.Noticef("Starting hangar")
	s.Noticef("  Version:  %s (NATS protocol %s)", Version, ProtocolVersion)
	s.Noticef("  Git:      [%s]", orNotSet(GitCommit))
	s.Noticef("  Name:     %s", s.name)
	s.Noticef("  ID:       %s", s.id)
	if o.ConfigFile != "" {
		s.Noticef("Using configuration file: %s", o.ConfigFile)
	}
	if o.HTTPPort != 0 {
		if err := s.startMonitoring(); err != nil {
			return err
		}
	}
	if o.ProfPort != 0 {
		s.startProfiler()
	}
	port := o.Port
	if port < 0 {
		port = 0
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(o.Host, strconv.Itoa(port)))
	if err != nil {
		s.stopMonitoring()
		return fmt.Errorf("server: listen on %s:%d: %w", o.Host, port, err)
	}
	s.ln = ln
	s.mu.Lock()
	s.info.Port = ln.Addr().(*net.TCPAddr).Port
	s.opts.Port = s.info.Port
	s.running = true
	exts := append([]Extension(nil), s.extensions...)
	s.mu.Unlock()

	for _, e := range exts {
		if err := e.Start(s); err != nil {
			ln.Close()
			s.stopMonitoring()
			return fmt.Errorf("server: start %s: %w", e.Name(), err)
		}
	}
	s.Noticef("Listening for client connections on %s", ln.Addr())
	s.Noticef("Server is ready")
	s.grWG.Add(1)
	go s.acceptLoop(ln)
	return nil
}

func orNotSet(v string) string {
	if v == "" {
		return "not set"
	}
	return v
}

// ClientURL is nats://host:port for the listener, for tests and tools.
func (s *Server) ClientURL() string {
	host := s.opts.Host
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "nats://" + net.JoinHostPort(host, strconv.Itoa(s.opts.Port))
}

// Addr returns the client listener's address.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

func (s *Server) acceptLoop(ln net.Listener) {
	defer s.grWG.Done()
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.isShuttingDown() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Too many open files and friends: back off instead of spinning.
			delay = min(max(delay*2, 5*time.Millisecond), time.Second)
			s.Errorf("Temporary Client Accept Error(%v), sleeping %v", err, delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.grWG.Add(1)
		go func() {
			defer s.grWG.Done()
			s.createClient(conn)
		}()
	}
}

func (s *Server) isShuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

// createClient sets up a new connection: INFO, timers and the two loops.
func (s *Server) createClient(conn net.Conn) {
	o := s.opts
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	c := &Client{
		srv:        s,
		kind:       KindClient,
		nc:         conn,
		start:      time.Now(),
		subs:       make(map[string]*Subscription),
		flushCh:    make(chan struct{}, 1),
		writerDone: make(chan struct{}),
		echo:       true,
	}
	c.last = c.start
	c.cid = s.cid.Add(1)
	if addr, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		c.host, c.port = addr.IP.String(), addr.Port
	}
	c.trace = o.Trace
	c.acc.Store(s.gacc)

	s.mu.Lock()
	if s.shutdown || s.ldm {
		s.mu.Unlock()
		conn.Close()
		return
	}
	info := s.info
	authReq := s.authRequired()
	if len(s.clients) >= o.MaxConn {
		s.mu.Unlock()
		s.sendInfoAndClose(c, info, "maximum connections exceeded")
		return
	}
	s.clients[c.cid] = c
	s.totalConns++
	s.mu.Unlock()

	info.ClientID = c.cid
	info.ClientIP = c.host
	if s.needsNonce() {
		c.nonce = newNonce()
		info.Nonce = string(c.nonce)
	}

	var pre []byte
	if o.TLSConfig != nil {
		var err error
		if pre, err = s.tlsUpgrade(c, info); err != nil {
			s.Errorf("%s - TLS handshake error: %v", c, err)
			// Shutdown may be closing the listed client concurrently.
			c.mu.Lock()
			c.closed = true
			c.reason = TLSHandshakeError
			c.mu.Unlock()
			conn.Close()
			s.removeClient(c)
			return
		}
	} else {
		c.mu.Lock()
		c.out = appendInfo(c.out, &info)
		c.pending = int64(len(c.out))
		c.mu.Unlock()
	}
	s.Debugf("%s - Client connection created", c)

	c.mu.Lock()
	c.pingTimer = time.AfterFunc(o.PingInterval, c.pingTimerFired)
	if authReq {
		c.authTimer = time.AfterFunc(s.auth.Load().timeout, c.authTimeout)
	}
	c.mu.Unlock()

	s.grWG.Add(2)
	go c.writeLoop()
	c.signalFlush()
	c.readLoop(pre)
}

func appendInfo(b []byte, info *serverInfo) []byte {
	js, _ := json.Marshal(info)
	b = append(b, "INFO "...)
	b = append(b, js...)
	return append(b, '\r', '\n')
}

func (s *Server) sendInfoAndClose(c *Client, info serverInfo, errText string) {
	b := appendInfo(nil, &info)
	b = append(b, "-ERR '"+errText+"'\r\n"...)
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	c.nc.Write(b)
	c.nc.Close()
	s.Warnf("%s - %s", c, errText)
}

func (c *Client) authTimeout() {
	c.mu.Lock()
	done := c.authDone || c.closed
	c.mu.Unlock()
	if done {
		return
	}
	c.srv.Debugf("%s - Authentication Timeout", c)
	c.sendErr("Authentication Timeout")
	c.closeConnection(AuthenticationTimeout)
}

func (s *Server) removeClient(c *Client) {
	if c.kind != KindClient {
		return
	}
	s.mu.Lock()
	if _, ok := s.clients[c.cid]; ok {
		delete(s.clients, c.cid)
		s.closed.add(c.snapshotClosed())
	}
	s.mu.Unlock()
	s.Debugf("%s - Client connection closed: %s", c, c.reason)
}

// NumClients returns the number of open client connections.
func (s *Server) NumClients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// Shutdown closes listeners and every connection and waits for the
// server's goroutines to end.
func (s *Server) Shutdown() {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return
	}
	s.shutdown = true
	s.running = false
	exts := s.extensions
	clients := make([]*Client, 0, len(s.clients))
	for _, c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()

	if s.ln != nil {
		s.ln.Close()
	}
	for i := len(exts) - 1; i >= 0; i-- {
		exts[i].Shutdown()
	}
	for _, c := range clients {
		c.closeConnection(ServerShutdown)
	}
	s.stopMonitoring()
	s.grWG.Wait()
	close(s.done)
	s.Noticef("Server Exiting..")
}

// WaitForShutdown blocks until Shutdown has finished.
func (s *Server) WaitForShutdown() { <-s.done }

// Running reports whether the server accepts connections.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// LameDuckShutdown stops accepting, tells clients through INFO ldm:true so
// they can move, closes the connections spread over the lame-duck period,
// then shuts down.
func (s *Server) LameDuckShutdown() {
	s.mu.Lock()
	if s.shutdown || s.ldm {
		s.mu.Unlock()
		return
	}
	s.ldm = true
	s.info.LameDuckMode = true
	info := s.info
	clients := make([]*Client, 0, len(s.clients))
	for _, c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	s.Noticef("Entering lame duck mode, stop accepting new clients")
	if s.ln != nil {
		s.ln.Close()
	}
	for _, c := range clients {
		ci := info
		c.sendProto(appendInfo(nil, &ci))
	}
	grace := s.opts.LameDuckGracePeriod
	dur := s.opts.LameDuckDuration - grace
	if dur <= 0 {
		dur = time.Second
	}
	if s.sleepOrDone(grace) && len(clients) > 0 {
		step := dur / time.Duration(len(clients))
		for _, c := range clients {
			c.closeConnection(LameDuckMode)
			if !s.sleepOrDone(step) {
				break
			}
		}
	}
	s.Shutdown()
}

func (s *Server) sleepOrDone(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

// ReadyForConnections waits until the listener is up.
func (s *Server) ReadyForConnections(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if s.Running() && s.ln != nil {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// TLSRequired reports whether clients must use TLS.
func (s *Server) TLSRequired() bool { return s.opts.TLSConfig != nil }

// tlsUpgrade performs the TLS handshake: after INFO for the classic flow,
// or first thing with TLS-first. It returns bytes read past the handshake
// (none with crypto/tls, which buffers them itself).
func (s *Server) tlsUpgrade(c *Client, info serverInfo) ([]byte, error) {
	o := s.opts
	if !o.TLSHandshakeFirst {
		b := appendInfo(nil, &info)
		c.nc.SetWriteDeadline(time.Now().Add(o.TLSTimeout))
		if _, err := c.nc.Write(b); err != nil {
			return nil, err
		}
	}
	tc := tls.Server(c.nc, o.TLSConfig)
	ctx, cancel := context.WithTimeout(context.Background(), o.TLSTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	tc.SetWriteDeadline(time.Time{})
	c.nc = tc
	st := tc.ConnectionState()
	c.tlsState = tls.VersionName(st.Version)
	if o.TLSHandshakeFirst {
		c.mu.Lock()
		c.out = appendInfo(c.out, &info)
		c.pending = int64(len(c.out))
		c.mu.Unlock()
	}
	return nil, nil
}

// newServerID returns a 56-character upper-case id starting with N, the
// shape of a NATS server public key.
func newServerID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var b [55]byte
	rand.Read(b[:])
	out := make([]byte, 56)
	out[0] = 'N'
	for i := range b {
		out[i+1] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(out)
}

func newNonce() []byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var b [11]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return b[:]
}

// HostPort returns "host:port" of the client listener.
func (s *Server) HostPort() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// StartTime returns when the server started.
func (s *Server) StartTime() time.Time { return s.start }

func hostname() string {
	h, _ := os.Hostname()
	return h
}

var _ = strings.TrimSpace
