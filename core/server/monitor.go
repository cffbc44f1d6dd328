package server

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hangar-mq/hangar/core/subject"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Monitoring endpoint paths, as the reference serves them.
const (
	RootPath     = "/"
	VarzPath     = "/varz"
	ConnzPath    = "/connz"
	SubszPath    = "/subsz"
	SubsPath     = "/subscriptionsz"
	AccountzPath = "/accountz"
	HealthzPath  = "/healthz"
	MetricsPath  = "/metrics"
)

// monitorExt holds what extensions add to monitoring.
type monitorExt struct {
	mu       sync.RWMutex
	varzJS   func() any
	health   []func(r *http.Request) *HealthError
	handlers map[string]http.HandlerFunc
}

func (s *Server) mon() *monitorExt { return &s.monExt }

// HealthError is one failed health check.
type HealthError struct {
	Type     string `json:"type"`
	Error    string `json:"error"`
	Stream   string `json:"stream,omitempty"`
	Consumer string `json:"consumer,omitempty"`
	Account  string `json:"account,omitempty"`
}

// SetVarzJetStream sets the producer of varz's jetstream section.
func (s *Server) SetVarzJetStream(f func() any) {
	m := s.mon()
	m.mu.Lock()
	m.varzJS = f
	m.mu.Unlock()
}

// AddHealthCheck adds a check to /healthz; it returns nil when healthy.
func (s *Server) AddHealthCheck(f func(r *http.Request) *HealthError) {
	m := s.mon()
	m.mu.Lock()
	m.health = append(m.health, f)
	m.mu.Unlock()
}

// HandleHTTP adds a monitoring endpoint (for /jsz and friends). Call
// before Start.
func (s *Server) HandleHTTP(path string, h http.HandlerFunc) {
	m := s.mon()
	m.mu.Lock()
	if m.handlers == nil {
		m.handlers = map[string]http.HandlerFunc{}
	}
	m.handlers[path] = h
	m.mu.Unlock()
}

func (s *Server) startMonitoring() error {
	o := s.opts
	port := o.HTTPPort
	if port < 0 {
		port = 0
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(o.HTTPHost, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("server: monitoring listen: %w", err)
	}
	s.httpLn = ln
	o.HTTPPort = ln.Addr().(*net.TCPAddr).Port
	mux := http.NewServeMux()
	base := strings.TrimSuffix(o.HTTPBasePath, "/")
	handle := func(p string, h http.HandlerFunc) {
		mux.HandleFunc(base+p, func(w http.ResponseWriter, r *http.Request) {
			v, _ := s.httpReqs.LoadOrStore(p, new(int64))
			atomicAdd(v.(*int64))
			h(w, r)
		})
	}
	handle(RootPath, s.handleRoot)
	handle(VarzPath, s.handleVarz)
	handle(ConnzPath, s.handleConnz)
	handle(SubszPath, s.handleSubsz)
	handle(SubsPath, s.handleSubsz)
	handle(AccountzPath, s.handleAccountz)
	handle(HealthzPath, s.handleHealthz)
	handle(MetricsPath, promhttp.HandlerFor(s.metricsRegistry(), promhttp.HandlerOpts{}).ServeHTTP)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.Noticef("Starting http monitor on %s", ln.Addr())
	s.grWG.Add(1)
	go func() {
		defer s.grWG.Done()
		s.http.Serve(ln)
	}()
	return nil
}

// MonitorAddr returns the monitoring listener address, or nil.
func (s *Server) MonitorAddr() net.Addr {
	if s.httpLn == nil {
		return nil
	}
	return s.httpLn.Addr()
}

func (s *Server) stopMonitoring() {
	if s.http != nil {
		s.http.Close()
	}
}

// writeJSON writes v indented, with JSONP support (?callback=) like the
// reference.
func writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if cb := r.URL.Query().Get("callback"); cb != "" {
		w.Header().Set("Content-Type", "application/javascript")
		fmt.Fprintf(w, "%s(%s)", cb, b)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	base := strings.TrimSuffix(s.opts.HTTPBasePath, "/")
	if r.URL.Path != base+"/" && r.URL.Path != "/" {
		// Extensions start after the listener and add their endpoints
		// late, so they are looked up per request.
		m := s.mon()
		m.mu.RLock()
		h := m.handlers[strings.TrimPrefix(r.URL.Path, base)]
		m.mu.RUnlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		v, _ := s.httpReqs.LoadOrStore(strings.TrimPrefix(r.URL.Path, base), new(int64))
		atomicAdd(v.(*int64))
		h(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<html><body><h1>hangar %s</h1><ul>", Version)
	paths := []string{VarzPath, ConnzPath, SubszPath, AccountzPath, HealthzPath, MetricsPath}
	m := s.mon()
	m.mu.RLock()
	for p := range m.handlers {
		paths = append(paths, p)
	}
	m.mu.RUnlock()
	for _, p := range paths {
		fmt.Fprintf(w, `<li><a href=".%s">%s</a></li>`, p, p)
	}
	fmt.Fprint(w, "</ul></body></html>")
}

// Varz is the /varz document.
type Varz struct {
	ID                string            `json:"server_id"`
	Name              string            `json:"server_name"`
	Version           string            `json:"version"`
	Proto             int               `json:"proto"`
	GitCommit         string            `json:"git_commit,omitempty"`
	GoVersion         string            `json:"go"`
	Host              string            `json:"host"`
	Port              int               `json:"port"`
	AuthRequired      bool              `json:"auth_required,omitempty"`
	TLSRequired       bool              `json:"tls_required,omitempty"`
	TLSVerify         bool              `json:"tls_verify,omitempty"`
	IP                string            `json:"ip,omitempty"`
	ClientConnectURLs []string          `json:"connect_urls,omitempty"`
	MaxConn           int               `json:"max_connections"`
	MaxSubs           int               `json:"max_subscriptions,omitempty"`
	PingInterval      time.Duration     `json:"ping_interval"`
	MaxPingsOut       int               `json:"ping_max"`
	HTTPHost          string            `json:"http_host"`
	HTTPPort          int               `json:"http_port"`
	HTTPBasePath      string            `json:"http_base_path"`
	HTTPSPort         int               `json:"https_port"`
	AuthTimeout       float64           `json:"auth_timeout"`
	MaxControlLine    int32             `json:"max_control_line"`
	MaxPayload        int               `json:"max_payload"`
	MaxPending        int64             `json:"max_pending"`
	Cluster           map[string]any    `json:"cluster"`
	Gateway           map[string]any    `json:"gateway"`
	LeafNode          map[string]any    `json:"leaf"`
	MQTT              map[string]any    `json:"mqtt"`
	Websocket         map[string]any    `json:"websocket"`
	JetStream         any               `json:"jetstream"`
	TLSTimeout        float64           `json:"tls_timeout"`
	WriteDeadline     time.Duration     `json:"write_deadline"`
	Start             time.Time         `json:"start"`
	Now               time.Time         `json:"now"`
	Uptime            string            `json:"uptime"`
	Mem               int64             `json:"mem"`
	Cores             int               `json:"cores"`
	MaxProcs          int               `json:"gomaxprocs"`
	CPU               float64           `json:"cpu"`
	Connections       int               `json:"connections"`
	TotalConnections  uint64            `json:"total_connections"`
	Routes            int               `json:"routes"`
	Remotes           int               `json:"remotes"`
	Leafs             int               `json:"leafnodes"`
	InMsgs            int64             `json:"in_msgs"`
	OutMsgs           int64             `json:"out_msgs"`
	InBytes           int64             `json:"in_bytes"`
	OutBytes          int64             `json:"out_bytes"`
	SlowConsumers     int64             `json:"slow_consumers"`
	Subscriptions     uint32            `json:"subscriptions"`
	HTTPReqStats      map[string]uint64 `json:"http_req_stats"`
	ConfigLoadTime    time.Time         `json:"config_load_time"`
	Tags              []string          `json:"tags,omitempty"`
	SystemAccount     string            `json:"system_account,omitempty"`
	LameDuck          bool              `json:"lame_duck_mode,omitempty"`
}

// Varz returns the /varz document.
func (s *Server) Varz() *Varz {
	o := s.opts
	now := time.Now().UTC()
	s.mu.Lock()
	v := &Varz{
		ID: s.id, Name: s.name, Version: ProtocolVersion, Proto: 1, GitCommit: GitCommit,
		GoVersion: runtime.Version(), Host: o.Host, Port: o.Port,
		AuthRequired: s.authRequired(), TLSRequired: s.info.TLSRequired, TLSVerify: s.info.TLSVerify,
		MaxConn: o.MaxConn, MaxSubs: o.MaxSubs, PingInterval: o.PingInterval, MaxPingsOut: o.MaxPingsOut,
		HTTPHost: o.HTTPHost, HTTPPort: o.HTTPPort, HTTPBasePath: o.HTTPBasePath,
		AuthTimeout: s.auth.Load().timeout.Seconds(), MaxControlLine: o.MaxControlLine,
		MaxPayload: int(o.MaxPayload), MaxPending: o.MaxPending,
		Cluster: map[string]any{}, Gateway: map[string]any{}, LeafNode: map[string]any{},
		MQTT: map[string]any{}, Websocket: map[string]any{},
		TLSTimeout: o.TLSTimeout.Seconds(), WriteDeadline: o.WriteDeadline,
		Start: s.start.UTC(), Now: now, Uptime: uptime(now.Sub(s.start)),
		Cores: runtime.NumCPU(), MaxProcs: runtime.GOMAXPROCS(0),
		Connections: len(s.clients), TotalConnections: s.totalConns,
		ConfigLoadTime: s.configTime.UTC(), Tags: o.Tags, LameDuck: s.ldm,
		JetStream: map[string]any{},
	}
	if s.sysAcc != nil {
		v.SystemAccount = s.sysAcc.Name
	}
	accs := make([]*Account, 0, len(s.accounts))
	for _, a := range s.accounts {
		accs = append(accs, a)
	}
	s.mu.Unlock()
	for _, a := range accs {
		v.Subscriptions += uint32(a.sl.Count())
	}
	v.InMsgs, v.OutMsgs = s.inMsgs.Load(), s.outMsgs.Load()
	v.InBytes, v.OutBytes = s.inBytes.Load(), s.outBytes.Load()
	v.SlowConsumers = s.slowConsumers.Load()
	v.Mem, v.CPU = procUsage()
	v.HTTPReqStats = map[string]uint64{}
	s.httpReqs.Range(func(k, val any) bool {
		v.HTTPReqStats[k.(string)] = uint64(atomicLoad(val.(*int64)))
		return true
	})
	m := s.mon()
	m.mu.RLock()
	if m.varzJS != nil {
		v.JetStream = m.varzJS()
	}
	m.mu.RUnlock()
	return v
}

func (s *Server) handleVarz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, s.Varz())
}

// uptime formats a duration the way the reference does: 1y2d3h4m5s.
func uptime(d time.Duration) string {
	tsecs := int64(d / time.Second)
	tmins, secs := tsecs/60, tsecs%60
	thrs, mins := tmins/60, tmins%60
	tdays, hrs := thrs/24, thrs%24
	years, days := tdays/365, tdays%365
	switch {
	case years > 0:
		return fmt.Sprintf("%dy%dd%dh%dm%ds", years, days, hrs, mins, secs)
	case days > 0:
		return fmt.Sprintf("%dd%dh%dm%ds", days, hrs, mins, secs)
	case hrs > 0:
		return fmt.Sprintf("%dh%dm%ds", hrs, mins, secs)
	case mins > 0:
		return fmt.Sprintf("%dm%ds", mins, secs)
	}
	return fmt.Sprintf("%ds", secs)
}

// procUsage reads resident memory and CPU share from /proc on Linux.
func procUsage() (rss int64, cpu float64) {
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 1 {
			pages, _ := strconv.ParseInt(f[1], 10, 64)
			rss = pages * int64(os.Getpagesize())
		}
	}
	cpu = cpuPercent()
	return rss, cpu
}

var cpuState struct {
	sync.Mutex
	lastTicks int64
	lastTime  time.Time
	last      float64
}

func cpuPercent() float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+2:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	ticks := ut + st
	cpuState.Lock()
	defer cpuState.Unlock()
	now := time.Now()
	if !cpuState.lastTime.IsZero() {
		el := now.Sub(cpuState.lastTime).Seconds()
		if el > 0.1 {
			// Linux reports clock ticks at 100 Hz.
			cpuState.last = float64(ticks-cpuState.lastTicks) / 100 / el * 100
			cpuState.lastTicks, cpuState.lastTime = ticks, now
		}
	} else {
		cpuState.lastTicks, cpuState.lastTime = ticks, now
	}
	return float64(int(cpuState.last*10)) / 10
}

// SubDetail describes one subscription in /connz and /subsz.
type SubDetail struct {
	Account string `json:"account,omitempty"`
	Subject string `json:"subject"`
	Queue   string `json:"qgroup,omitempty"`
	Sid     string `json:"sid"`
	Msgs    int64  `json:"msgs"`
	Max     int64  `json:"max,omitempty"`
	Cid     uint64 `json:"cid"`
}

// ConnInfo is one connection in /connz.
type ConnInfo struct {
	Cid            uint64      `json:"cid"`
	Kind           string      `json:"kind,omitempty"`
	Type           string      `json:"type,omitempty"`
	IP             string      `json:"ip"`
	Port           int         `json:"port"`
	Start          time.Time   `json:"start"`
	LastActivity   time.Time   `json:"last_activity"`
	Stop           *time.Time  `json:"stop,omitempty"`
	Reason         string      `json:"reason,omitempty"`
	RTT            string      `json:"rtt,omitempty"`
	Uptime         string      `json:"uptime"`
	Idle           string      `json:"idle"`
	Pending        int         `json:"pending_bytes"`
	InMsgs         int64       `json:"in_msgs"`
	OutMsgs        int64       `json:"out_msgs"`
	InBytes        int64       `json:"in_bytes"`
	OutBytes       int64       `json:"out_bytes"`
	NumSubs        uint32      `json:"subscriptions"`
	Name           string      `json:"name,omitempty"`
	Lang           string      `json:"lang,omitempty"`
	Version        string      `json:"version,omitempty"`
	TLSVersion     string      `json:"tls_version,omitempty"`
	AuthorizedUser string      `json:"authorized_user,omitempty"`
	Account        string      `json:"account,omitempty"`
	Subs           []string    `json:"subscriptions_list,omitempty"`
	SubsDetail     []SubDetail `json:"subscriptions_list_detail,omitempty"`

	rtt time.Duration
}

func (c *Client) connInfo(now time.Time, subs, detail bool) ConnInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	ci := ConnInfo{
		Cid: c.cid, Kind: "Client", Type: "nats", IP: c.host, Port: c.port,
		Start: c.start.UTC(), LastActivity: c.last.UTC(), Uptime: uptime(now.Sub(c.start)),
		Idle: uptime(now.Sub(c.last)), Pending: int(c.pending),
		InMsgs: c.inMsgs.Load(), OutMsgs: c.outMsgs.Load(), InBytes: c.inBytes.Load(), OutBytes: c.outBytes.Load(),
		NumSubs: uint32(len(c.subs)), Name: c.opts.Name, Lang: c.opts.Lang, Version: c.opts.Version,
		TLSVersion: c.tlsState, AuthorizedUser: c.user, rtt: c.rtt,
	}
	if c.rtt > 0 {
		ci.RTT = c.rtt.String()
	}
	if a := c.acc.Load(); a != nil {
		ci.Account = a.Name
	}
	if c.closed {
		st := c.stop.UTC()
		ci.Stop = &st
		ci.Reason = string(c.reason)
	}
	if subs || detail {
		for _, sub := range c.subs {
			if detail {
				ci.SubsDetail = append(ci.SubsDetail, SubDetail{Subject: sub.subject, Queue: sub.queue, Sid: sub.sid, Msgs: sub.nm, Max: sub.max, Cid: c.cid})
			} else {
				ci.Subs = append(ci.Subs, sub.subject)
			}
		}
		sort.Strings(ci.Subs)
		sort.Slice(ci.SubsDetail, func(i, j int) bool { return ci.SubsDetail[i].Sid < ci.SubsDetail[j].Sid })
	}
	return ci
}

// Connz is the /connz document.
type Connz struct {
	ID       string      `json:"server_id"`
	Now      time.Time   `json:"now"`
	NumConns int         `json:"num_connections"`
	Total    int         `json:"total"`
	Offset   int         `json:"offset"`
	Limit    int         `json:"limit"`
	Conns    []*ConnInfo `json:"connections"`
}

// ConnzOptions are the /connz query parameters.
type ConnzOptions struct {
	Sort       string    `json:"sort"`
	Subs       bool      `json:"subscriptions"`
	SubsDetail bool      `json:"subscriptions_detail"`
	Offset     int       `json:"offset"`
	Limit      int       `json:"limit"`
	CID        uint64    `json:"cid"`
	State      ConnState `json:"state"`
	User       string    `json:"user"`
	Account    string    `json:"acc"`
	Auth       bool      `json:"auth"`
}

// ConnState selects open, closed or any connections in connz. In JSON
// (the $SYS CONNZ requests) it is also accepted as the reference's
// number: 0 open, 1 closed, 2 any.
type ConnState string

// UnmarshalJSON accepts a state name or number.
func (cs *ConnState) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "0":
		*cs = "open"
	case "1":
		*cs = "closed"
	case "2":
		*cs = "any"
	default:
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*cs = ConnState(s)
	}
	return nil
}

const defaultConnzLimit = 1024

func (s *Server) handleConnz(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o := ConnzOptions{Sort: q.Get("sort"), State: ConnState(q.Get("state")), User: q.Get("user"), Account: q.Get("acc")}
	switch q.Get("subs") {
	case "1", "true":
		o.Subs = true
	case "detail":
		o.SubsDetail = true
	}
	o.Auth = q.Get("auth") == "1" || q.Get("auth") == "true"
	var err error
	if o.Offset, err = intParam(q.Get("offset")); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if o.Limit, err = intParam(q.Get("limit")); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if v := q.Get("cid"); v != "" {
		if o.CID, err = strconv.ParseUint(v, 10, 64); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	cz, err := s.Connz(&o)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(err.Error()))
		return
	}
	writeJSON(w, r, cz)
}

func intParam(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid value %q", v)
	}
	return n, nil
}

var connzSorts = map[string]func(a, b *ConnInfo) bool{
	"":           func(a, b *ConnInfo) bool { return a.Cid < b.Cid },
	"cid":        func(a, b *ConnInfo) bool { return a.Cid < b.Cid },
	"start":      func(a, b *ConnInfo) bool { return a.Start.Before(b.Start) },
	"subs":       func(a, b *ConnInfo) bool { return a.NumSubs > b.NumSubs },
	"pending":    func(a, b *ConnInfo) bool { return a.Pending > b.Pending },
	"msgs_to":    func(a, b *ConnInfo) bool { return a.OutMsgs > b.OutMsgs },
	"msgs_from":  func(a, b *ConnInfo) bool { return a.InMsgs > b.InMsgs },
	"bytes_to":   func(a, b *ConnInfo) bool { return a.OutBytes > b.OutBytes },
	"bytes_from": func(a, b *ConnInfo) bool { return a.InBytes > b.InBytes },
	"last":       func(a, b *ConnInfo) bool { return a.LastActivity.After(b.LastActivity) },
	"idle":       func(a, b *ConnInfo) bool { return a.LastActivity.Before(b.LastActivity) },
	"uptime":     func(a, b *ConnInfo) bool { return a.Start.Before(b.Start) },
	"rtt":        func(a, b *ConnInfo) bool { return a.rtt > b.rtt },
	"stop": func(a, b *ConnInfo) bool {
		return a.Stop != nil && b.Stop != nil && a.Stop.After(*b.Stop)
	},
	"reason": func(a, b *ConnInfo) bool { return a.Reason < b.Reason },
}

// Connz returns the /connz document.
func (s *Server) Connz(o *ConnzOptions) (*Connz, error) {
	if o == nil {
		o = &ConnzOptions{}
	}
	less, ok := connzSorts[o.Sort]
	if !ok {
		return nil, fmt.Errorf("invalid sorting option: %s", o.Sort)
	}
	state := string(o.State)
	if state == "" {
		state = "open"
	}
	if (o.Sort == "stop" || o.Sort == "reason") && state == "open" {
		return nil, fmt.Errorf("sort by stop only valid on closed connections")
	}
	limit := o.Limit
	if limit == 0 {
		limit = defaultConnzLimit
	}
	now := time.Now()
	var all []*ConnInfo
	s.mu.Lock()
	open := make([]*Client, 0, len(s.clients))
	for _, c := range s.clients {
		open = append(open, c)
	}
	var closed []closedConn
	if state == "closed" || state == "any" {
		closed = s.closed.all()
	}
	s.mu.Unlock()
	if state == "open" || state == "any" {
		for _, c := range open {
			ci := c.connInfo(now, o.Subs, o.SubsDetail)
			all = append(all, &ci)
		}
	}
	for i := range closed {
		ci := closed[i].info
		all = append(all, &ci)
	}
	filtered := all[:0]
	for _, ci := range all {
		if o.CID != 0 && ci.Cid != o.CID {
			continue
		}
		if o.User != "" && ci.AuthorizedUser != o.User {
			continue
		}
		if o.Account != "" && ci.Account != o.Account {
			continue
		}
		if !o.Auth {
			ci.AuthorizedUser, ci.Account = "", ""
		}
		filtered = append(filtered, ci)
	}
	sort.SliceStable(filtered, func(i, j int) bool { return less(filtered[i], filtered[j]) })
	cz := &Connz{ID: s.id, Now: now.UTC(), Total: len(filtered), Offset: o.Offset, Limit: limit}
	if o.Offset < len(filtered) {
		end := min(o.Offset+limit, len(filtered))
		cz.Conns = filtered[o.Offset:end]
	}
	if cz.Conns == nil {
		cz.Conns = []*ConnInfo{}
	}
	cz.NumConns = len(cz.Conns)
	return cz, nil
}

// Subsz is the /subsz document.
type Subsz struct {
	ID           string      `json:"server_id"`
	Now          time.Time   `json:"now"`
	NumSubs      uint32      `json:"num_subscriptions"`
	NumCache     uint32      `json:"num_cache"`
	NumInserts   uint64      `json:"num_inserts"`
	NumRemoves   uint64      `json:"num_removes"`
	NumMatches   uint64      `json:"num_matches"`
	CacheHitRate float64     `json:"cache_hit_rate"`
	MaxFanout    uint32      `json:"max_fanout"`
	AvgFanout    float64     `json:"avg_fanout"`
	Total        int         `json:"total"`
	Offset       int         `json:"offset"`
	Limit        int         `json:"limit"`
	Subs         []SubDetail `json:"subscriptions_list,omitempty"`
}

// SubszOptions are the /subsz query parameters (and the JSON body of the
// $SYS SUBSZ requests).
type SubszOptions struct {
	Offset  int    `json:"offset"`
	Limit   int    `json:"limit"`
	Subs    bool   `json:"subscriptions"`
	Account string `json:"account"`
	Test    string `json:"test"`
}

func (s *Server) handleSubsz(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o := SubszOptions{Subs: q.Get("subs") == "1" || q.Get("subs") == "true" || q.Get("subs") == "detail",
		Test: q.Get("test"), Account: q.Get("acc")}
	var err1, err2 error
	o.Offset, err1 = intParam(q.Get("offset"))
	o.Limit, err2 = intParam(q.Get("limit"))
	if err1 != nil || err2 != nil {
		http.Error(w, "invalid paging", http.StatusBadRequest)
		return
	}
	writeJSON(w, r, s.Subsz(&o))
}

// Subsz returns the /subsz document.
func (s *Server) Subsz(o *SubszOptions) *Subsz {
	if o == nil {
		o = &SubszOptions{}
	}
	subs, offset, limit, test, accName := o.Subs, o.Offset, o.Limit, o.Test, o.Account
	if limit == 0 {
		limit = defaultConnzLimit
	}
	sz := &Subsz{ID: s.id, Now: time.Now().UTC(), Offset: offset, Limit: limit}
	var details []SubDetail
	for _, a := range s.Accounts() {
		if accName != "" && a.Name != accName {
			continue
		}
		st := a.sl.Stats()
		sz.NumSubs += uint32(st.Count)
		sz.NumCache += uint32(st.Cached)
		sz.NumInserts += st.Inserts
		sz.NumRemoves += st.Removes
		sz.NumMatches += st.Matches
		if st.Matches > 0 {
			sz.CacheHitRate = float64(st.Hits) / float64(st.Matches)
		}
		if subs {
			a.sl.All(func(subj, queue string, v *Subscription) {
				if test != "" && !matchLiteral(test, subj) {
					return
				}
				if v.client != nil && v.client.kind == KindInternal {
					return
				}
				d := SubDetail{Account: a.Name, Subject: subj, Queue: queue, Sid: v.sid}
				if v.client != nil {
					d.Cid = v.client.cid
				}
				details = append(details, d)
			})
		}
	}
	if subs {
		sort.Slice(details, func(i, j int) bool {
			if details[i].Cid != details[j].Cid {
				return details[i].Cid < details[j].Cid
			}
			return details[i].Sid < details[j].Sid
		})
		sz.Total = len(details)
		if offset < len(details) {
			sz.Subs = details[offset:min(offset+limit, len(details))]
		}
	} else {
		sz.Total = int(sz.NumSubs)
	}
	return sz
}

// HealthStatus is the /healthz document.
type HealthStatus struct {
	Status     string         `json:"status"`
	StatusCode int            `json:"status_code,omitempty"`
	Error      string         `json:"error,omitempty"`
	Errors     []*HealthError `json:"errors,omitempty"`
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	hs := s.Healthz(r)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(hs.StatusCode)
	b, _ := json.MarshalIndent(hs, "", "  ")
	w.Write(b)
}

// Healthz runs the health checks; r carries their query parameters.
func (s *Server) Healthz(r *http.Request) *HealthStatus {
	hs := &HealthStatus{Status: "ok", StatusCode: http.StatusOK}
	if !s.Running() {
		hs.Status, hs.StatusCode, hs.Error = "unavailable", http.StatusServiceUnavailable, "server is not running"
	} else {
		m := s.mon()
		m.mu.RLock()
		checks := append([]func(*http.Request) *HealthError(nil), m.health...)
		m.mu.RUnlock()
		for _, chk := range checks {
			if he := chk(r); he != nil {
				hs.Status, hs.StatusCode = "unavailable", http.StatusServiceUnavailable
				if hs.Error == "" {
					hs.Error = he.Error
				}
				if r.URL.Query().Get("details") == "true" {
					hs.Errors = append(hs.Errors, he)
				}
			}
		}
	}
	return hs
}

func matchLiteral(literal, filter string) bool { return subject.Match(literal, filter) }

func atomicAdd(p *int64)        { atomic.AddInt64(p, 1) }
func atomicLoad(p *int64) int64 { return atomic.LoadInt64(p) }
