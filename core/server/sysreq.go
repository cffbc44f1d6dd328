package server

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ServerInfo identifies the server in every system-account message.
type ServerInfo struct {
	Name      string    `json:"name"`
	Host      string    `json:"host"`
	ID        string    `json:"id"`
	Domain    string    `json:"domain,omitempty"`
	Version   string    `json:"ver"`
	Tags      []string  `json:"tags,omitempty"`
	JetStream bool      `json:"jetstream"`
	Flags     uint64    `json:"flags"`
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
}

// ServerAPIResponse is the reply to a $SYS request: the server, then the
// document or an error.
type ServerAPIResponse struct {
	Server *ServerInfo      `json:"server"`
	Data   any              `json:"data,omitempty"`
	Error  *ServerAPIError  `json:"error,omitempty"`
	Statsz *ServerStatsData `json:"statsz,omitempty"`
}

// ServerAPIError is the error of a $SYS request.
type ServerAPIError struct {
	Code        int    `json:"code"`
	Description string `json:"description,omitempty"`
}

// DataStats counts messages and bytes.
type DataStats struct {
	Msgs  int64 `json:"msgs"`
	Bytes int64 `json:"bytes"`
}

// ServerStatsData is the STATSZ document.
type ServerStatsData struct {
	Start            time.Time `json:"start"`
	Mem              int64     `json:"mem"`
	Cores            int       `json:"cores"`
	CPU              float64   `json:"cpu"`
	Connections      int       `json:"connections"`
	TotalConnections uint64    `json:"total_connections"`
	ActiveAccounts   int       `json:"active_accounts"`
	NumSubs          uint32    `json:"subscriptions"`
	Sent             DataStats `json:"sent"`
	Received         DataStats `json:"received"`
	SlowConsumers    int64     `json:"slow_consumers"`
	ActiveServers    int       `json:"active_servers"`
	JetStream        any       `json:"jetstream,omitempty"`
	MaxProcs         int       `json:"gomaxprocs"`
}

// AccountStat is one account in an account STATZ reply and in the
// account_connections event.
type AccountStat struct {
	Account       string    `json:"acc"`
	Name          string    `json:"name"`
	Conns         int       `json:"conns"`
	LeafNodes     int       `json:"leafnodes"`
	TotalConns    int       `json:"total_conns"`
	NumSubs       uint32    `json:"num_subscriptions"`
	Sent          DataStats `json:"sent"`
	Received      DataStats `json:"received"`
	SlowConsumers int64     `json:"slow_consumers"`
}

// AccountStatz is the account STATZ document.
type AccountStatz struct {
	ID       string         `json:"server_id"`
	Now      time.Time      `json:"now"`
	Accounts []*AccountStat `json:"account_statz"`
}

// UserInfo answers $SYS.REQ.USER.INFO: who the requester is.
type UserInfo struct {
	User        string           `json:"user"`
	Account     string           `json:"account"`
	AccountName string           `json:"account_name,omitempty"`
	Permissions *UserPermissions `json:"permissions,omitempty"`
}

// UserPermissions is the wire form of a user's permissions.
type UserPermissions struct {
	Publish   *SubjectPerms `json:"publish,omitempty"`
	Subscribe *SubjectPerms `json:"subscribe,omitempty"`
	Responses *RespPerms    `json:"responses,omitempty"`
}

// SubjectPerms lists allowed and denied subjects.
type SubjectPerms struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// RespPerms is the wire form of allow_responses.
type RespPerms struct {
	MaxMsgs int           `json:"max"`
	Expires time.Duration `json:"ttl"`
}

// SysHandler answers a $SYS request for a document an extension owns
// (JSZ...). acc is the account a per-account request is for, "" for the
// server-wide forms; body is the request's JSON options.
type SysHandler func(acc string, body []byte) (any, error)

// sysState is the system account's request machinery.
type sysState struct {
	seq atomic.Uint64
	// mu guards subs and ext; it is a leaf lock.
	mu   sync.Mutex
	subs []*Subscription
	ext  map[string]SysHandler
	acc  map[string]SysHandler
}

// eventFilter selects servers for broadcast (PING) requests.
type eventFilter struct {
	Name       string   `json:"server_name"`
	Host       string   `json:"host"`
	Domain     string   `json:"domain"`
	Tags       []string `json:"tags"`
	ExactMatch bool     `json:"exact_match"`
}

func (s *Server) filterMatches(f *eventFilter) bool {
	match := func(want, have string) bool {
		if want == "" {
			return true
		}
		if f.ExactMatch {
			return want == have
		}
		return strings.Contains(have, want)
	}
	if !match(f.Name, s.name) || !match(f.Host, s.opts.Host) {
		return false
	}
	s.mu.Lock()
	domain := s.info.Domain
	s.mu.Unlock()
	if f.Domain != "" && f.Domain != domain {
		return false
	}
	for _, t := range f.Tags {
		found := false
		for _, have := range s.opts.Tags {
			if strings.EqualFold(t, have) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// serverZ are the server-wide documents served at $SYS.REQ.SERVER.*.<Z>.
var serverZ = []string{"STATSZ", "VARZ", "CONNZ", "SUBSZ", "HEALTHZ", "ACCOUNTZ"}

// accountZ are the per-account documents at $SYS.REQ.ACCOUNT.<acc>.<Z>.
var accountZ = []string{"CONNZ", "SUBSZ", "INFO", "STATZ"}

// startSysHandlers subscribes the system account to the requests the
// reference serves there.
func (s *Server) startSysHandlers() {
	if s.SystemAccount() == nil {
		return
	}
	add := s.sysSubscribe
	add("$SYS.REQ.SERVER.PING", func(_ *Subscription, _ *Client, _, reply string, _, data []byte) {
		var f eventFilter
		if json.Unmarshal(data, &f) == nil && !s.filterMatches(&f) {
			return
		}
		s.sysReply(reply, &ServerAPIResponse{Statsz: s.statsz()})
	})
	for _, z := range serverZ {
		s.addServerZ(z)
	}
	for _, z := range accountZ {
		s.addAccountZ(z)
	}
	userInfo := func(_ *Subscription, pc *Client, _, reply string, _, _ []byte) {
		if pc == nil || pc.kind != KindClient {
			return
		}
		s.sysReply(reply, &ServerAPIResponse{Data: pc.userInfo()})
	}
	add("$SYS.REQ.USER.INFO", userInfo)
	add("$SYS.REQ.USER.*.INFO", userInfo)
}

func (s *Server) sysSubscribe(subj string, cb MsgHandler) {
	sys := s.SystemAccount()
	if sys == nil {
		return
	}
	sub, err := sys.Subscribe(subj, "", cb)
	if err != nil {
		s.Errorf("system account: subscribe %q: %v", subj, err)
		return
	}
	s.sys.mu.Lock()
	s.sys.subs = append(s.sys.subs, sub)
	s.sys.mu.Unlock()
}

func (s *Server) addAccountZ(z string) {
	s.sysSubscribe("$SYS.REQ.ACCOUNT.*."+z, func(_ *Subscription, _ *Client, subj, reply string, _, data []byte) {
		acc := tokenAt(subj, 4)
		s.sysReplyDoc(reply, func() (any, error) { return s.accountZ(acc, z, data) })
	})
}

// addServerZ subscribes the broadcast and the addressed form of one Z.
func (s *Server) addServerZ(z string) {
	add := s.sysSubscribe
	add("$SYS.REQ.SERVER.PING."+z, func(_ *Subscription, _ *Client, _, reply string, _, data []byte) {
		var f eventFilter
		if len(data) > 0 && json.Unmarshal(data, &f) == nil && !s.filterMatches(&f) {
			return
		}
		s.sysReplyDoc(reply, func() (any, error) { return s.serverZ(z, data) })
	})
	add("$SYS.REQ.SERVER."+s.id+"."+z, func(_ *Subscription, _ *Client, _, reply string, _, data []byte) {
		s.sysReplyDoc(reply, func() (any, error) { return s.serverZ(z, data) })
	})
}

// RegisterSysHandler adds a server-wide document (z, e.g. "JSZ") answered
// at $SYS.REQ.SERVER.PING.<z> and $SYS.REQ.SERVER.<id>.<z>, and, when
// perAccount, at $SYS.REQ.ACCOUNT.<acc>.<z>.
func (s *Server) RegisterSysHandler(z string, perAccount bool, h SysHandler) {
	s.sys.mu.Lock()
	if s.sys.ext == nil {
		s.sys.ext = map[string]SysHandler{}
		s.sys.acc = map[string]SysHandler{}
	}
	_, had := s.sys.ext[z]
	s.sys.ext[z] = h
	_, hadAcc := s.sys.acc[z]
	if perAccount {
		s.sys.acc[z] = h
	}
	s.sys.mu.Unlock()
	if !had {
		s.addServerZ(z)
	}
	if perAccount && !hadAcc {
		s.addAccountZ(z)
	}
}

func tokenAt(subj string, n int) string {
	for i := 1; ; i++ {
		j := strings.IndexByte(subj, '.')
		if i == n {
			if j < 0 {
				return subj
			}
			return subj[:j]
		}
		if j < 0 {
			return ""
		}
		subj = subj[j+1:]
	}
}

// badRequest marks errors answered with code 400.
type badRequest struct{ error }

func decodeOpts(data []byte, v any) error {
	if len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return badRequest{err}
	}
	return nil
}

func (s *Server) serverZ(z string, data []byte) (any, error) {
	switch z {
	case "STATSZ":
		return s.statsz(), nil
	case "VARZ":
		return s.Varz(), nil
	case "CONNZ":
		var o ConnzOptions
		if err := decodeOpts(data, &o); err != nil {
			return nil, err
		}
		return s.Connz(&o)
	case "SUBSZ":
		var o SubszOptions
		if err := decodeOpts(data, &o); err != nil {
			return nil, err
		}
		return s.Subsz(&o), nil
	case "HEALTHZ":
		var o struct {
			JSEnabledOnly bool   `json:"js-enabled-only"`
			JSServerOnly  bool   `json:"js-server-only"`
			Account       string `json:"account"`
			Stream        string `json:"stream"`
			Consumer      string `json:"consumer"`
			Details       bool   `json:"details"`
		}
		if err := decodeOpts(data, &o); err != nil {
			return nil, err
		}
		q := url.Values{}
		set := func(k string, v bool) {
			if v {
				q.Set(k, "true")
			}
		}
		set("js-enabled-only", o.JSEnabledOnly)
		set("js-server-only", o.JSServerOnly)
		set("details", o.Details)
		for k, v := range map[string]string{"account": o.Account, "stream": o.Stream, "consumer": o.Consumer} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return s.Healthz(&http.Request{URL: &url.URL{Path: HealthzPath, RawQuery: q.Encode()}}), nil
	case "ACCOUNTZ":
		var o struct {
			Account string `json:"account"`
		}
		if err := decodeOpts(data, &o); err != nil {
			return nil, err
		}
		return s.Accountz(o.Account)
	}
	s.sys.mu.Lock()
	h := s.sys.ext[z]
	s.sys.mu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("unknown request %q", z)
	}
	return h("", data)
}

func (s *Server) accountZ(acc, z string, data []byte) (any, error) {
	if acc == "PING" {
		switch z {
		case "STATZ":
			var o struct {
				Accounts      []string `json:"accounts"`
				IncludeUnused bool     `json:"include_unused"`
			}
			if err := decodeOpts(data, &o); err != nil {
				return nil, err
			}
			return s.accountStatz(o.Accounts, o.IncludeUnused), nil
		case "CONNZ":
			acc = ""
		}
	} else if _, ok := s.LookupAccount(acc); !ok {
		return nil, fmt.Errorf("account %q not found", acc)
	}
	switch z {
	case "CONNZ":
		var o ConnzOptions
		if err := decodeOpts(data, &o); err != nil {
			return nil, err
		}
		if acc != "" {
			o.Account = acc
		}
		return s.Connz(&o)
	case "SUBSZ":
		o := SubszOptions{Subs: true}
		if err := decodeOpts(data, &o); err != nil {
			return nil, err
		}
		o.Account = acc
		return s.Subsz(&o), nil
	case "INFO":
		a, _ := s.LookupAccount(acc)
		return s.accountInfo(a), nil
	case "STATZ":
		return s.accountStatz([]string{acc}, true), nil
	}
	s.sys.mu.Lock()
	h := s.sys.acc[z]
	s.sys.mu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("unknown request %q", z)
	}
	return h(acc, data)
}

// serverInfo stamps a system message with this server and the next
// sequence number.
func (s *Server) serverInfo() *ServerInfo {
	s.mu.Lock()
	si := &ServerInfo{Name: s.name, Host: s.opts.Host, ID: s.id, Domain: s.info.Domain,
		Version: ProtocolVersion, Tags: s.opts.Tags, JetStream: s.info.JetStream}
	s.mu.Unlock()
	if si.JetStream {
		si.Flags = 1
	}
	si.Seq = s.sys.seq.Add(1)
	si.Time = time.Now().UTC()
	return si
}

// sysReplyDoc answers with the document f makes, or its error.
func (s *Server) sysReplyDoc(reply string, f func() (any, error)) {
	if reply == "" {
		return
	}
	d, err := f()
	resp := &ServerAPIResponse{Data: d}
	if err != nil {
		code := 500
		if _, ok := err.(badRequest); ok {
			code = 400
		} else if strings.HasPrefix(err.Error(), "account ") || strings.HasPrefix(err.Error(), "Account ") {
			code = 404
		}
		resp = &ServerAPIResponse{Error: &ServerAPIError{Code: code, Description: err.Error()}}
	}
	s.sysReply(reply, resp)
}

func (s *Server) sysReply(reply string, resp *ServerAPIResponse) {
	sys := s.SystemAccount()
	if reply == "" || sys == nil {
		return
	}
	resp.Server = s.serverInfo()
	b, err := json.Marshal(resp)
	if err != nil {
		s.Errorf("system account: encode reply: %v", err)
		return
	}
	sys.Publish(reply, "", nil, b)
}

func (s *Server) statsz() *ServerStatsData {
	s.mu.Lock()
	st := &ServerStatsData{Start: s.start.UTC(), Cores: runtime.NumCPU(), MaxProcs: runtime.GOMAXPROCS(0),
		Connections: len(s.clients), TotalConnections: s.totalConns, ActiveServers: 1}
	accs := make([]*Account, 0, len(s.accounts))
	for _, a := range s.accounts {
		accs = append(accs, a)
	}
	s.mu.Unlock()
	for _, a := range accs {
		st.NumSubs += uint32(a.sl.Count())
		if a.NumConnections() > 0 {
			st.ActiveAccounts++
		}
	}
	st.Mem, st.CPU = procUsage()
	st.Sent = DataStats{Msgs: s.outMsgs.Load(), Bytes: s.outBytes.Load()}
	st.Received = DataStats{Msgs: s.inMsgs.Load(), Bytes: s.inBytes.Load()}
	st.SlowConsumers = s.slowConsumers.Load()
	m := s.mon()
	m.mu.RLock()
	if m.varzJS != nil {
		st.JetStream = m.varzJS()
	}
	m.mu.RUnlock()
	return st
}

func (a *Account) stat() *AccountStat {
	return &AccountStat{Account: a.Name, Name: a.Name, Conns: a.NumConnections(), TotalConns: a.NumConnections(),
		NumSubs:  uint32(a.sl.Count()),
		Sent:     DataStats{Msgs: a.outMsgs.Load(), Bytes: a.outBytes.Load()},
		Received: DataStats{Msgs: a.inMsgs.Load(), Bytes: a.inBytes.Load()}}
}

func (s *Server) accountStatz(names []string, unused bool) *AccountStatz {
	az := &AccountStatz{ID: s.id, Now: time.Now().UTC(), Accounts: []*AccountStat{}}
	var accs []*Account
	if len(names) == 0 {
		accs = s.Accounts()
	} else {
		for _, n := range names {
			if a, ok := s.LookupAccount(n); ok {
				accs = append(accs, a)
			}
		}
	}
	sort.Slice(accs, func(i, j int) bool { return accs[i].Name < accs[j].Name })
	for _, a := range accs {
		if !unused && a.NumConnections() == 0 {
			continue
		}
		az.Accounts = append(az.Accounts, a.stat())
	}
	return az
}

// userInfo describes the client for $SYS.REQ.USER.INFO.
func (c *Client) userInfo() *UserInfo {
	ui := &UserInfo{User: c.User()}
	if a := c.acc.Load(); a != nil {
		ui.Account, ui.AccountName = a.Name, a.Name
	}
	if p := c.perms.Load(); p != nil && p.src != nil {
		ui.Permissions = wirePerms(p.src)
	}
	return ui
}

func wirePerms(p *Permissions) *UserPermissions {
	list := func(sp *SubjectPermission) *SubjectPerms {
		if sp == nil || (len(sp.Allow) == 0 && len(sp.Deny) == 0) {
			return nil
		}
		out := &SubjectPerms{Allow: append([]string(nil), sp.Allow...), Deny: append([]string(nil), sp.Deny...)}
		sort.Strings(out.Allow)
		sort.Strings(out.Deny)
		return out
	}
	up := &UserPermissions{Publish: list(p.Publish), Subscribe: list(p.Subscribe)}
	if p.Response != nil {
		up.Responses = &RespPerms{MaxMsgs: p.Response.MaxMsgs, Expires: p.Response.Expires}
		if up.Responses.MaxMsgs <= 0 {
			up.Responses.MaxMsgs = 1
		}
		if up.Responses.Expires <= 0 {
			up.Responses.Expires = DefaultResponseThreshold
		}
	}
	return up
}

// randToken returns n random characters from the base62 alphabet.
func randToken(n int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}
