package server

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hangar-mq/hangar/core/subject"
)

// importer forwards a message that matched an import subscription into
// another account. It runs inline on the publisher's goroutine with the
// publisher's delivery context, so backpressure and writer wake-ups work
// across accounts as they do within one. It reports whether anything
// received the message.
type importer interface {
	forward(dc *deliveryCtx, pc *Client, subj, reply, hdr, data []byte) bool
}

// maxImportDepth bounds chains of service imports (A imports from B which
// imports from C...), which also stops a cycle from looping forever.
const maxImportDepth = 8

// Response types of a service export.
const (
	RespSingleton = "Singleton"
	RespStream    = "Stream"
	RespChunked   = "Chunked"
)

// DefaultResponseThreshold is how long a service import waits for a
// response before forgetting the request.
const DefaultResponseThreshold = 2 * time.Minute

// export is one compiled ExportConfig.
type export struct {
	subject   string
	service   bool
	accounts  map[string]bool // nil: any account may import
	respType  string
	threshold time.Duration
}

// installedImport remembers what an import added so a reload can take it
// away again.
type installedImport struct {
	cfg    ImportConfig
	from   *Account // exporter
	sub    *Subscription
	in     *Account // the account whose Sublist holds sub
	system bool
}

// streamImport delivers the exporter's messages into the importer, with
// the subject mapped.
type streamImport struct {
	to *Account
	tr *subject.Transform // nil: same subject
}

func (si *streamImport) forward(dc *deliveryCtx, pc *Client, subj, reply, hdr, data []byte) bool {
	// Imported messages are not imported again: that is what keeps two
	// accounts that import each other's streams from echoing forever.
	if dc.depth > 0 {
		return false
	}
	if si.tr != nil {
		ms, ok := si.tr.Apply(string(subj))
		if !ok {
			return false
		}
		subj = []byte(ms)
	}
	dc.depth++
	n := dc.route(pc, si.to, si.to.sl.Match(string(subj)), subj, reply, hdr, data)
	dc.depth--
	return n > 0
}

// serviceImport sends an importer's request into the exporter, with a
// generated reply subject that leads the response back.
type serviceImport struct {
	from      *Account // importer
	to        *Account // exporter
	tr        *subject.Transform
	dest      string // exporter subject when tr is nil
	respType  string
	threshold time.Duration
	// share passes the requester's full identity in Nats-Request-Info
	// (the system account's own imports); otherwise only its account.
	share bool
}

func (si *serviceImport) forward(dc *deliveryCtx, pc *Client, subj, reply, hdr, data []byte) bool {
	if dc.depth >= maxImportDepth {
		return false
	}
	dest := si.dest
	if si.tr != nil {
		ms, ok := si.tr.Apply(string(subj))
		if !ok {
			return false
		}
		dest = ms
	}
	var rr string
	if len(reply) > 0 {
		rr = si.to.resp().add(si.from, string(reply), si.respType, si.threshold)
	}
	hdr = withRequestInfo(hdr, si.from, pc, si.share)
	dc.depth++
	db := []byte(dest)
	var rb []byte
	if rr != "" {
		rb = []byte(rr)
	}
	n := dc.route(pc, si.to, si.to.sl.Match(dest), db, rb, hdr, data)
	dc.depth--
	if n == 0 && rr != "" {
		si.to.resp().remove(rr)
	}
	return n > 0
}

// requestInfoHeader carries who made a request that crossed accounts.
const requestInfoHeader = "Nats-Request-Info"

// withRequestInfo returns hdr with a Nats-Request-Info line added.
func withRequestInfo(hdr []byte, from *Account, pc *Client, share bool) []byte {
	var js []byte
	if share && pc != nil && pc.kind == KindClient {
		ci := pc.Info()
		ci.Server = ""
		js, _ = json.Marshal(ci)
	} else {
		var rtt time.Duration
		if pc != nil && pc.kind == KindClient {
			pc.mu.Lock()
			rtt = pc.rtt
			pc.mu.Unlock()
		}
		js = []byte(`{"acc":` + strconv.Quote(from.Name) + `,"rtt":` + strconv.FormatInt(int64(rtt), 10) + `}`)
	}
	line := requestInfoHeader + ": " + string(js) + "\r\n"
	if len(hdr) < len(hdrLine)+2 {
		return []byte(hdrLine + line + "\r\n")
	}
	// Insert before the blank line that ends the header block.
	out := make([]byte, 0, len(hdr)+len(line))
	out = append(out, hdr[:len(hdr)-2]...)
	out = append(out, line...)
	return append(out, "\r\n"...)
}

const hdrLine = "NATS/1.0\r\n"

// respTable maps the reply subjects a service import generated in the
// exporter account back to the requesters in the importing accounts.
type respTable struct {
	acc    *Account
	prefix string // "_R_.<rand>."
	// mu guards m and the counters; it is a leaf lock.
	mu      sync.Mutex
	m       map[string]*respEntry
	sub     *Subscription
	inserts int
	swept   time.Time
}

type respEntry struct {
	to      *Account
	reply   string
	single  bool
	expires time.Time
}

// resp returns the account's response table, creating it (and the
// subscription that catches responses) on first use.
func (a *Account) resp() *respTable {
	if rt := a.rt.Load(); rt != nil {
		return rt
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if rt := a.rt.Load(); rt != nil {
		return rt
	}
	rt := &respTable{acc: a, prefix: "_R_." + randToken(6) + ".", m: make(map[string]*respEntry), swept: time.Now()}
	rt.sub = &Subscription{client: a.ic, subject: rt.prefix + ">", sid: "_R_", imp: rt}
	a.sl.Insert(rt.sub.subject, "", rt.sub)
	a.rt.Store(rt)
	return rt
}

func (rt *respTable) add(to *Account, reply, respType string, threshold time.Duration) string {
	if threshold <= 0 {
		threshold = DefaultResponseThreshold
	}
	key := rt.prefix + randToken(8)
	now := time.Now()
	rt.mu.Lock()
	rt.m[key] = &respEntry{to: to, reply: reply, single: respType == "" || respType == RespSingleton, expires: now.Add(threshold)}
	if rt.inserts++; rt.inserts >= 1024 || now.Sub(rt.swept) > threshold {
		for k, e := range rt.m {
			if now.After(e.expires) {
				delete(rt.m, k)
			}
		}
		rt.inserts, rt.swept = 0, now
	}
	rt.mu.Unlock()
	return key
}

func (rt *respTable) remove(key string) {
	rt.mu.Lock()
	delete(rt.m, key)
	rt.mu.Unlock()
}

// pending returns the number of outstanding responses (for tests).
func (rt *respTable) pending() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return len(rt.m)
}

// forward delivers a response to the requester it belongs to.
func (rt *respTable) forward(dc *deliveryCtx, pc *Client, subj, reply, hdr, data []byte) bool {
	if dc.depth >= maxImportDepth {
		return false
	}
	rt.mu.Lock()
	e := rt.m[string(subj)]
	if e != nil {
		expired := time.Now().After(e.expires)
		if e.single || expired {
			delete(rt.m, string(subj))
		}
		if expired {
			e = nil
		}
	}
	rt.mu.Unlock()
	if e == nil {
		return false
	}
	dc.depth++
	rs := []byte(e.reply)
	n := dc.route(pc, e.to, e.to.sl.Match(e.reply), rs, reply, hdr, data)
	dc.depth--
	return n > 0
}

// setExports compiles the account's exports.
func (a *Account) setExports(cfg []*ExportConfig) error {
	var ex []*export
	for _, ec := range cfg {
		if !subject.Valid(ec.Subject) {
			return fmt.Errorf("account %q: invalid export subject %q", a.Name, ec.Subject)
		}
		e := &export{subject: ec.Subject, service: ec.Service, respType: ec.ResponseType, threshold: ec.ResponseThreshold}
		if e.service {
			switch e.respType {
			case "", RespSingleton:
				e.respType = RespSingleton
			case RespStream, RespChunked:
			default:
				return fmt.Errorf("account %q: unknown response type %q for service export %q", a.Name, ec.ResponseType, ec.Subject)
			}
		}
		if ec.Accounts != nil {
			e.accounts = make(map[string]bool, len(ec.Accounts))
			for _, n := range ec.Accounts {
				e.accounts[n] = true
			}
		}
		ex = append(ex, e)
	}
	a.mu.Lock()
	a.exports = ex
	a.mu.Unlock()
	return nil
}

// findExport returns the export of a that authorizes importer to import
// subj, or nil.
func (a *Account) findExport(subj string, service bool, importer string) *export {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for _, e := range a.exports {
		if e.service != service || !subject.SubsetOf(subj, e.subject) {
			continue
		}
		if e.accounts != nil && !e.accounts[importer] {
			continue
		}
		return e
	}
	return nil
}

// addImport installs one import of a from its exporter.
func (s *Server) addImport(a *Account, ic *ImportConfig, system bool) error {
	kind := "stream"
	if ic.Service {
		kind = "service"
	}
	from, ok := s.LookupAccount(ic.Account)
	if !ok {
		return fmt.Errorf("%q account not defined for %s import", ic.Account, kind)
	}
	if !subject.Valid(ic.Subject) {
		return fmt.Errorf("Error adding %s import %q: invalid subject", kind, ic.Subject)
	}
	local := ic.To
	if local == "" {
		local = ic.Subject
	}
	if !subject.Valid(local) {
		return fmt.Errorf("Error adding %s import %q: invalid local subject %q", kind, ic.Subject, local)
	}
	var e *export
	if !system {
		if e = from.findExport(ic.Subject, ic.Service, a.Name); e == nil {
			return fmt.Errorf("Error adding %s import %q: %s import not authorized", kind, ic.Subject, kind)
		}
	}
	inst := &installedImport{cfg: *ic, from: from, system: system}
	if ic.Service {
		si := &serviceImport{from: a, to: from, dest: ic.Subject, respType: RespSingleton, share: system}
		if e != nil {
			si.respType, si.threshold = e.respType, e.threshold
		}
		if local != ic.Subject {
			tr, err := importTransform(local, ic.Subject)
			if err != nil {
				return fmt.Errorf("Error adding service import %q: %w", ic.Subject, err)
			}
			si.tr = tr
		}
		from.resp()
		inst.sub = &Subscription{client: a.ic, subject: local, sid: "import:" + ic.Account + ":" + ic.Subject, imp: si}
		inst.in = a
	} else {
		si := &streamImport{to: a}
		if local != ic.Subject {
			tr, err := importTransform(ic.Subject, local)
			if err != nil {
				return fmt.Errorf("Error adding stream import %q: %w", ic.Subject, err)
			}
			si.tr = tr
		}
		inst.sub = &Subscription{client: from.ic, subject: ic.Subject, sid: "import:" + a.Name + ":" + ic.Subject, imp: si}
		inst.in = from
	}
	inst.in.sl.Insert(inst.sub.subject, "", inst.sub)
	a.mu.Lock()
	a.imports = append(a.imports, inst)
	a.mu.Unlock()
	return nil
}

// importTransform maps src onto dst where both may hold wildcards that
// correspond by position, or where dst adds a literal prefix to src.
func importTransform(src, dst string) (*subject.Transform, error) {
	if subject.NumTokens(dst) > subject.NumTokens(src) && !subject.HasWildcard(dst[:len(dst)-len(src)]) &&
		len(dst) > len(src) && dst[len(dst)-len(src)-1] == '.' && dst[len(dst)-len(src):] == src {
		// A prefix: keep every token of the source.
		prefix := dst[:len(dst)-len(src)-1]
		return newTransform(src, prefix+"."+wildcardRefs(src))
	}
	return newTransform(src, dst)
}

// wildcardRefs rewrites src so each `*` refers to its own position and
// `>` stays the tail: "a.*.b.>" becomes "a.$1.b.>".
func wildcardRefs(src string) string {
	toks := subject.Tokenize(src)
	n := 0
	for i, t := range toks {
		if t == "*" {
			n++
			toks[i] = "$" + strconv.Itoa(n)
		}
	}
	out := toks[0]
	for _, t := range toks[1:] {
		out += "." + t
	}
	return out
}

// removeImports takes away every import installed into a.
func (a *Account) removeImports() {
	a.mu.Lock()
	imps := a.imports
	a.imports = nil
	a.mu.Unlock()
	for _, im := range imps {
		if im.sub.closed.CompareAndSwap(false, true) {
			im.in.sl.Remove(im.sub.subject, "", im.sub)
		}
	}
}
