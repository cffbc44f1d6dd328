package server

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/hangar-mq/hangar/core/subject"
)

// ClientKind says what is on the other end of a Client.
type ClientKind int

const (
	// KindClient is an application connection speaking the client protocol.
	KindClient ClientKind = iota
	// KindInternal is the server itself (an account's internal client).
	KindInternal
)

// MsgHandler receives messages for an internal subscription. It runs
// inline on the publisher's goroutine. subj and reply are fresh strings;
// hdr and data alias the publisher's buffer and are valid only during the
// call. pc is the publishing client (an internal client for server-made
// messages).
type MsgHandler func(sub *Subscription, pc *Client, subj, reply string, hdr, data []byte)

// Subscription is one interest registration: a client's SUB or an internal
// handler.
type Subscription struct {
	client  *Client
	subject string
	queue   string
	sid     string
	icb     MsgHandler
	// imp forwards matching messages across accounts (imports and the
	// response path of service imports).
	imp importer
	// nm, max and dchk are guarded by client.mu. dchk says deliveries must
	// be checked against the subscriber's deny list.
	nm     int64
	max    int64
	dchk   bool
	closed atomic.Bool
}

// Subject returns the subscribed subject (it may hold wildcards).
func (s *Subscription) Subject() string { return s.subject }

// Queue returns the queue group name, or "".
func (s *Subscription) Queue() string { return s.queue }

// Client returns the subscribing client.
func (s *Subscription) Client() *Client { return s.client }

// connectOpts are the fields of CONNECT.
type connectOpts struct {
	Verbose      bool   `json:"verbose"`
	Pedantic     bool   `json:"pedantic"`
	TLSRequired  bool   `json:"tls_required"`
	AuthToken    string `json:"auth_token,omitempty"`
	Username     string `json:"user,omitempty"`
	Password     string `json:"pass,omitempty"`
	Nkey         string `json:"nkey,omitempty"`
	Sig          string `json:"sig,omitempty"`
	JWT          string `json:"jwt,omitempty"`
	Name         string `json:"name"`
	Lang         string `json:"lang"`
	Version      string `json:"version"`
	Protocol     int    `json:"protocol"`
	Echo         *bool  `json:"echo,omitempty"`
	Headers      bool   `json:"headers"`
	NoResponders bool   `json:"no_responders"`
	Account      string `json:"account,omitempty"`
	NewAccount   bool   `json:"new_account,omitempty"`
}

// ClosedState is why a connection ended, as /connz reports it.
type ClosedState string

// Close reasons, spelled as the reference server reports them.
const (
	ClientClosed              ClosedState = "Client Closed"
	AuthenticationTimeout     ClosedState = "Authentication Timeout"
	AuthenticationViolation   ClosedState = "Authentication Failure"
	TLSHandshakeError         ClosedState = "TLS Handshake Failure"
	SlowConsumerPendingBytes  ClosedState = "Slow Consumer (Pending Bytes)"
	SlowConsumerWriteDeadline ClosedState = "Slow Consumer (Write Deadline)"
	WriteError                ClosedState = "Write Error"
	ReadError                 ClosedState = "Read Error"
	ParseError                ClosedState = "Parse Error"
	StaleConnection           ClosedState = "Stale Connection"
	ProtocolViolation         ClosedState = "Protocol Violation"
	BadClientProtocolVersion  ClosedState = "Bad Client Protocol Version"
	MaxPayloadExceeded        ClosedState = "Maximum Message Payload Exceeded"
	MaxControlLineExceeded    ClosedState = "Maximum Control Line Exceeded"
	MaxConnectionsExceeded    ClosedState = "Maximum Connections Exceeded"
	MaxSubscriptionsExceeded  ClosedState = "Maximum Subscriptions Exceeded"
	ServerShutdown            ClosedState = "Server Shutdown"
	LameDuckMode              ClosedState = "Lame Duck Mode"
	AuthenticationExpired     ClosedState = "Authentication Expired"
	Kicked                    ClosedState = "Kicked"
)

// Client is one connection (or the server's internal client of an account).
type Client struct {
	srv   *Server
	cid   uint64
	kind  ClientKind
	nc    net.Conn
	host  string
	port  int
	start time.Time

	// acc is written once at CONNECT (before any message flows) and when a
	// config reload moves the user; readers on the hot path load it.
	acc atomic.Pointer[Account]

	// mu guards everything down to the read-loop-only section.
	mu         sync.Mutex
	opts       connectOpts
	echo       bool
	headers    bool
	subs       map[string]*Subscription
	nextSID    uint64
	out        []byte
	spare      []byte
	pending    int64
	closed     bool
	reason     ClosedState
	stop       time.Time
	pingsOut   int
	rtt        time.Duration
	rttStart   time.Time
	last       time.Time
	user       string
	authDone   bool
	nonce      []byte
	replies    map[string]*respPerm
	pingTimer  *time.Timer
	authTimer  *time.Timer
	tlsState   string
	flushCh    chan struct{}
	writerDone chan struct{}
	// stallCh is closed by the writer when pending drops below the stall
	// threshold; producers that filled this client wait on it briefly.
	stallCh chan struct{}

	// Read-loop-only state: no lock needed.
	ps         parseState
	dc         deliveryCtx
	stallTimer *time.Timer
	cache      map[string]*subject.Result[*Subscription]
	cacheGen   uint64
	cacheAcc   *Account
	trace      bool
	// pubCache memoizes publish permission checks for pubCachePerms.
	pubCache      map[string]bool
	pubCachePerms *clientPerms

	// perms are the client's permissions (nil: unrestricted); a reload
	// swaps them.
	perms atomic.Pointer[clientPerms]

	inMsgs, inBytes, outMsgs, outBytes atomic.Int64
}

// ID returns the connection id (cid).
func (c *Client) ID() uint64 { return c.cid }

// Kind returns what the client is.
func (c *Client) Kind() ClientKind { return c.kind }

// Account returns the account the client is bound to.
func (c *Client) Account() *Account { return c.acc.Load() }

// Server returns the client's server.
func (c *Client) Server() *Server { return c.srv }

// Name returns the client's CONNECT name.
func (c *Client) Name() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opts.Name
}

// Host returns the remote IP address of the connection.
func (c *Client) Host() string { return c.host }

// User returns the authenticated user name, if any.
func (c *Client) User() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.user
}

func (s *Server) newInternalClient(a *Account) *Client {
	c := &Client{srv: s, kind: KindInternal, subs: make(map[string]*Subscription), echo: true, headers: true, start: time.Now()}
	c.acc.Store(a)
	return c
}

// readLoop owns the connection's input: it parses and dispatches every
// operation, then wakes the writers of the clients it delivered to.
func (c *Client) readLoop(pre []byte) {
	s := c.srv
	defer s.grWG.Done()
	size := startReadBuf
	buf := make([]byte, size)
	small := 0
	if len(pre) > 0 {
		if err := c.parse(pre); err != nil {
			c.flushDeliveries()
			c.protoError(err)
			return
		}
		c.flushDeliveries()
	}
	for {
		n, err := c.nc.Read(buf)
		if n > 0 {
			perr := c.parse(buf[:n])
			c.flushDeliveries()
			if perr != nil {
				c.protoError(perr)
				return
			}
			// Grow when reads fill the buffer, shrink after a run of
			// small reads, so idle connections stay cheap.
			switch {
			case n == len(buf) && size < maxReadBuf:
				size *= 2
				buf = make([]byte, size)
				small = 0
			case n < size/4 && size > startReadBuf:
				if small++; small > shrinkAfter {
					size /= 2
					buf = make([]byte, size)
					small = 0
				}
			default:
				small = 0
			}
		}
		if err != nil {
			c.closeConnection(ClientClosed)
			return
		}
		if c.isClosed() {
			return
		}
	}
}

const (
	startReadBuf = 4096
	maxReadBuf   = 64 * 1024
	shrinkAfter  = 16
	// maxKeepOut bounds the outbound buffer kept for reuse after a flush.
	maxKeepOut = 1 << 20
)

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// writeLoop owns the connection's output. Producers append to c.out under
// c.mu and signal flushCh; one write carries everything appended since the
// last one, which is the write coalescing.
func (c *Client) writeLoop() {
	s := c.srv
	defer s.grWG.Done()
	defer close(c.writerDone)
	for {
		<-c.flushCh
		c.mu.Lock()
		closed, reason := c.closed, c.reason
		if len(c.out) == 0 {
			c.mu.Unlock()
			if closed {
				c.nc.Close()
				return
			}
			continue
		}
		buf := c.out
		c.out = c.spare
		c.spare = nil
		c.mu.Unlock()

		if closed && (reason == SlowConsumerPendingBytes || reason == SlowConsumerWriteDeadline) {
			c.nc.Close()
			return
		}
		wd := s.opts.WriteDeadline
		if closed {
			wd = 100 * time.Millisecond
		}
		c.nc.SetWriteDeadline(time.Now().Add(wd))
		_, err := c.nc.Write(buf)
		c.mu.Lock()
		c.pending -= int64(len(buf))
		if c.stallCh != nil && c.pending < c.srv.stallThreshold {
			close(c.stallCh)
			c.stallCh = nil
		}
		if c.spare == nil && cap(buf) <= maxKeepOut {
			c.spare = buf[:0]
		}
		c.mu.Unlock()
		if err != nil {
			if closed {
				c.nc.Close()
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.slowConsumers.Add(1)
				s.Warnf("%s - Slow Consumer Detected: WriteDeadline of %v exceeded", c, wd)
				c.closeConnection(SlowConsumerWriteDeadline)
			} else {
				c.closeConnection(WriteError)
			}
			continue
		}
		if closed {
			// Drain whatever was appended before close (an -ERR).
			c.signalFlush()
		}
	}
}

func (c *Client) signalFlush() {
	select {
	case c.flushCh <- struct{}{}:
	default:
	}
}

// enqueue appends raw protocol bytes to the outbound buffer. Held: c.mu.
func (c *Client) enqueueLocked(b []byte) {
	if c.closed {
		return
	}
	c.out = append(c.out, b...)
	c.pending += int64(len(b))
}

// sendProto queues b and wakes the writer.
func (c *Client) sendProto(b []byte) {
	if c.kind != KindClient {
		return
	}
	c.mu.Lock()
	c.enqueueLocked(b)
	c.mu.Unlock()
	c.signalFlush()
	if c.trace {
		c.srv.Tracef("%s - ->> [%s]", c, bytes.TrimRight(b, "\r\n"))
	}
}

// sendErr sends -ERR 'text'.
func (c *Client) sendErr(text string) {
	c.sendProto([]byte("-ERR '" + text + "'\r\n"))
}

func (c *Client) sendOK() {
	c.mu.Lock()
	v := c.opts.Verbose
	c.mu.Unlock()
	if v {
		c.sendProto([]byte("+OK\r\n"))
	}
}

// String is how the connection appears in logs: "ip:port - cid:N".
func (c *Client) String() string {
	if c.kind == KindInternal {
		return "internal"
	}
	return c.host + ":" + strconv.Itoa(c.port) + " - cid:" + strconv.FormatUint(c.cid, 10)
}

// protoError reports a parse failure and closes the connection.
func (c *Client) protoError(err error) {
	var pe *protoErr
	if errors.As(err, &pe) {
		if pe.text != "" {
			c.sendErr(pe.text)
		}
		c.srv.Debugf("%s - Client connection closed: %s", c, pe.reason)
		c.closeConnection(pe.reason)
		return
	}
	c.sendErr("Unknown Protocol Operation")
	c.closeConnection(ParseError)
}

// closeConnection ends the connection once: it drops subscriptions, leaves
// the account and server, and lets the writer flush what is queued (an
// -ERR) before closing the socket.
func (c *Client) closeConnection(reason ClosedState) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.reason = reason
	c.stop = time.Now()
	subs := make([]*Subscription, 0, len(c.subs))
	for _, sub := range c.subs {
		subs = append(subs, sub)
	}
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	if c.authTimer != nil {
		c.authTimer.Stop()
	}
	c.mu.Unlock()

	acc := c.acc.Load()
	if acc != nil {
		for _, sub := range subs {
			if sub.closed.CompareAndSwap(false, true) {
				acc.sl.Remove(sub.subject, sub.queue, sub)
			}
		}
		acc.removeClient(c)
	}
	c.signalFlush()
	c.srv.removeClient(c)
	c.srv.sendDisconnectEvent(c)
}

// deliveryCtx collects the clients a producer wrote to so that each is
// woken once per read rather than once per message.
type deliveryCtx struct {
	pcd   map[*Client]struct{}
	last  *Client
	stall chan struct{}
	// depth counts the imports a message has crossed, to stop cycles.
	depth int
}

func (dc *deliveryCtx) add(c *Client) {
	if dc.last == c {
		return
	}
	dc.last = c
	if dc.pcd == nil {
		dc.pcd = make(map[*Client]struct{})
	}
	dc.pcd[c] = struct{}{}
}

func (dc *deliveryCtx) flush() {
	for c := range dc.pcd {
		c.signalFlush()
		delete(dc.pcd, c)
	}
	dc.last = nil
}

// flushDeliveries wakes the writers this read delivered to, then, if one
// of them is backed up, holds this producer for a moment so that a fast
// publisher slows to its consumers' pace instead of cutting them off.
func (c *Client) flushDeliveries() {
	c.dc.flush()
	stall := c.dc.stall
	if stall == nil {
		return
	}
	c.dc.stall = nil
	if c.stallTimer == nil {
		c.stallTimer = time.NewTimer(stallMax)
	} else {
		c.stallTimer.Reset(stallMax)
	}
	select {
	case <-stall:
		c.stallTimer.Stop()
	case <-c.stallTimer.C:
	}
}

// stallMax bounds how long one read's worth of publishing waits for a
// backed-up consumer; a consumer that stays stuck is cut off at max_pending.
const stallMax = 20 * time.Millisecond

var dcPool = sync.Pool{New: func() any { return &deliveryCtx{} }}

// match returns the subscriptions for subj, through the client's own cache
// so that a steady publisher does not touch the shared Sublist lock.
func (c *Client) match(acc *Account, subj []byte) *subject.Result[*Subscription] {
	if oneShotSubject(subj) {
		return acc.sl.MatchUncached(string(subj))
	}
	gen := acc.sl.Gen()
	if c.cacheAcc != acc || c.cacheGen != gen {
		clear(c.cache)
		c.cacheGen, c.cacheAcc = gen, acc
	} else if r, ok := c.cache[string(subj)]; ok {
		return r
	}
	key := string(subj)
	r := acc.sl.Match(key)
	if c.cache == nil {
		c.cache = make(map[string]*subject.Result[*Subscription], 32)
	} else if len(c.cache) >= clientCacheMax {
		clear(c.cache)
	}
	c.cache[key] = r
	return r
}

const clientCacheMax = 256

// oneShotSubject reports whether a subject is one that is published to
// about once (an ack or a request's reply inbox): caching its match only
// evicts useful entries and costs a write lock.
func oneShotSubject(subj []byte) bool {
	return bytes.HasPrefix(subj, []byte("$JS.ACK.")) || bytes.HasPrefix(subj, []byte("_INBOX."))
}

// callInternal runs an internal handler. A panic in one (a bug in an
// extension on some odd input) is logged and contained: it would
// otherwise end the whole server from a client's read loop.
func callInternal(sub *Subscription, pc *Client, subj, reply, hdr, data []byte) {
	defer func() {
		if p := recover(); p != nil {
			sub.client.srv.Errorf("internal handler for %q panicked on %q: %v\n%s", sub.subject, subj, p, debug.Stack())
		}
	}()
	sub.icb(sub, pc, string(subj), string(reply), hdr, data)
}

// deliver hands one message to one subscription. It reports whether the
// message went out (false for a closed, echo-suppressed or exhausted sub).
func (dc *deliveryCtx) deliver(pc *Client, sub *Subscription, subj, reply, hdr, data []byte) bool {
	if sub.icb != nil {
		if sub.closed.Load() {
			return false
		}
		callInternal(sub, pc, subj, reply, hdr, data)
		return true
	}
	if sub.imp != nil {
		if sub.closed.Load() {
			return false
		}
		return sub.imp.forward(dc, pc, subj, reply, hdr, data)
	}
	t := sub.client
	if t == pc && !pc.echo {
		return false
	}
	t.mu.Lock()
	if t.closed || sub.closed.Load() {
		t.mu.Unlock()
		return false
	}
	if sub.dchk && t.perms.Load().deliveryDenied(subj) {
		t.mu.Unlock()
		return false
	}
	if sub.max > 0 && sub.nm >= sub.max {
		t.mu.Unlock()
		return false
	}
	sub.nm++
	done := sub.max > 0 && sub.nm >= sub.max
	hasHdr := len(hdr) > 0 && t.headers
	if !t.headers {
		hdr = nil
	}
	size := len(hdr) + len(data)
	o := t.out
	if hasHdr {
		o = append(o, "HMSG "...)
	} else {
		o = append(o, "MSG "...)
	}
	o = append(o, subj...)
	o = append(o, ' ')
	o = append(o, sub.sid...)
	o = append(o, ' ')
	if len(reply) > 0 {
		o = append(o, reply...)
		o = append(o, ' ')
	}
	if hasHdr {
		o = strconv.AppendInt(o, int64(len(hdr)), 10)
		o = append(o, ' ')
	}
	o = strconv.AppendInt(o, int64(size), 10)
	o = append(o, '\r', '\n')
	start := len(t.out)
	if hasHdr {
		o = append(o, hdr...)
	}
	o = append(o, data...)
	o = append(o, '\r', '\n')
	t.pending += int64(len(o) - start)
	t.out = o
	if len(reply) > 0 {
		if tp := t.perms.Load(); tp != nil && tp.resp != nil {
			t.noteReplyLocked(tp.resp, reply)
		}
	}
	slow := t.pending > t.srv.opts.MaxPending
	if t.pending > t.srv.stallThreshold && dc.stall == nil {
		if t.stallCh == nil {
			t.stallCh = make(chan struct{})
		}
		dc.stall = t.stallCh
	}
	trace := t.trace
	t.mu.Unlock()
	t.outMsgs.Add(1)
	t.outBytes.Add(int64(size))
	if trace {
		t.srv.Tracef("%s - ->> [MSG %s %s %s %d]", t, subj, sub.sid, reply, size)
	}
	if slow {
		t.srv.slowConsumers.Add(1)
		t.srv.Noticef("%s - Slow Consumer Detected: MaxPending of %d Exceeded", t, t.srv.opts.MaxPending)
		t.closeConnection(SlowConsumerPendingBytes)
		return false
	}
	dc.add(t)
	if done {
		t.unsubscribe(sub)
	}
	return true
}

// route delivers a published message to every interested subscription of
// acc: all plain subscribers and one member of each queue group. It
// reports how many subscriptions received it.
func (dc *deliveryCtx) route(pc *Client, acc *Account, r *subject.Result[*Subscription], subj, reply, hdr, data []byte) int {
	n := 0
	for _, sub := range r.Psubs {
		if dc.deliver(pc, sub, subj, reply, hdr, data) {
			n++
		}
	}
	for _, q := range r.Qsubs {
		if len(q) == 0 {
			continue
		}
		start := 0
		if len(q) > 1 {
			start = rand.IntN(len(q))
		}
		for i := 0; i < len(q); i++ {
			if dc.deliver(pc, q[(start+i)%len(q)], subj, reply, hdr, data) {
				n++
				break
			}
		}
	}
	if n > 0 {
		acc.outMsgs.Add(int64(n))
		acc.outBytes.Add(int64(n * (len(hdr) + len(data))))
	}
	return n
}

// noResponders answers a request that reached nobody with a 503 status to
// the requester's own reply subscription.
func (dc *deliveryCtx) noResponders(pc *Client, acc *Account, subj, reply []byte) {
	hdr := []byte("NATS/1.0 503\r\nNats-Subject: " + string(subj) + "\r\n\r\n")
	for _, sub := range acc.sl.Match(string(reply)).Psubs {
		if sub.client == pc {
			// Echo does not apply: the status is for the requester.
			dc.deliverForced(sub, reply, hdr)
			return
		}
	}
}

// deliverForced delivers with no producer, so echo suppression does not
// apply.
func (dc *deliveryCtx) deliverForced(sub *Subscription, subj, hdr []byte) {
	dc.deliver(nil, sub, subj, nil, hdr, nil)
}

func (c *Client) unsubscribe(sub *Subscription) {
	if !sub.closed.CompareAndSwap(false, true) {
		return
	}
	c.mu.Lock()
	if c.subs[sub.sid] == sub {
		delete(c.subs, sub.sid)
	}
	c.mu.Unlock()
	if acc := c.acc.Load(); acc != nil {
		acc.sl.Remove(sub.subject, sub.queue, sub)
	}
}

// processSub handles SUB subject [queue] sid.
func (c *Client) processSub(args [][]byte) error {
	var subj, queue, sid []byte
	switch len(args) {
	case 2:
		subj, sid = args[0], args[1]
	case 3:
		subj, queue, sid = args[0], args[1], args[2]
	default:
		return &protoErr{text: "Unknown Protocol Operation", reason: ParseError}
	}
	acc := c.acc.Load()
	ss := string(subj)
	if !subject.Valid(ss) || (len(queue) > 0 && !validQueue(queue)) {
		c.sendErr("Invalid Subject")
		return nil
	}
	if !c.canSubscribe(ss, string(queue)) {
		if len(queue) > 0 {
			c.sendErr(fmt.Sprintf("Permissions Violation for Subscription to %q using queue %q", ss, queue))
		} else {
			c.sendErr(fmt.Sprintf("Permissions Violation for Subscription to %q", ss))
		}
		c.srv.Warnf("%s - Subscription Violation - User %q, Subject %q, SID %s", c, c.User(), ss, sid)
		return nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	if _, dup := c.subs[string(sid)]; dup {
		c.mu.Unlock()
		c.sendOK()
		return nil
	}
	if max := c.srv.opts.MaxSubs; max > 0 && len(c.subs) >= max {
		c.mu.Unlock()
		c.sendErr("maximum subscriptions exceeded")
		return nil
	}
	sub := &Subscription{client: c, subject: ss, queue: string(queue), sid: string(sid)}
	sub.dchk = c.perms.Load().needsDeliveryCheck(ss)
	c.subs[sub.sid] = sub
	c.mu.Unlock()
	acc.sl.Insert(sub.subject, sub.queue, sub)
	c.sendOK()
	return nil
}

func validQueue(q []byte) bool {
	for _, b := range q {
		switch b {
		case ' ', '\t', '\r', '\n':
			return false
		}
	}
	return true
}

// processUnsub handles UNSUB sid [max].
func (c *Client) processUnsub(args [][]byte) error {
	if len(args) < 1 || len(args) > 2 {
		return &protoErr{text: "Unknown Protocol Operation", reason: ParseError}
	}
	max := int64(0)
	if len(args) == 2 {
		n, ok := parseSize(args[1])
		if !ok {
			return &protoErr{text: "Unknown Protocol Operation", reason: ParseError}
		}
		max = int64(n)
	}
	c.mu.Lock()
	sub := c.subs[string(args[0])]
	if sub == nil {
		c.mu.Unlock()
		c.sendOK()
		return nil
	}
	if max > 0 && sub.nm < max {
		sub.max = max
		c.mu.Unlock()
		c.sendOK()
		return nil
	}
	c.mu.Unlock()
	c.unsubscribe(sub)
	c.sendOK()
	return nil
}

// processPub handles the payload of PUB/HPUB once it is complete.
func (c *Client) processMsg(subj, reply []byte, hdrLen int, msg []byte) {
	acc := c.acc.Load()
	c.inMsgs.Add(1)
	c.inBytes.Add(int64(len(msg)))
	acc.inMsgs.Add(1)
	acc.inBytes.Add(int64(len(msg)))
	s := c.srv
	s.inMsgs.Add(1)
	s.inBytes.Add(int64(len(msg)))

	if c.opts.Pedantic && !subject.ValidLiteral(string(subj)) {
		c.sendErr("Invalid Publish Subject")
		return
	}
	if p := c.perms.Load(); p != nil && !c.canPublish(p, subj) {
		c.sendErr(fmt.Sprintf("Permissions Violation for Publish to %q", subj))
		s.Warnf("%s - Publish Violation - User %q, Subject %q", c, c.User(), subj)
		return
	}
	var hdr, data []byte
	if hdrLen > 0 {
		hdr, data = msg[:hdrLen], msg[hdrLen:]
	} else {
		data = msg
	}
	// A subject with wildcard tokens is routed like any other: its "*" and
	// ">" tokens are literals that only wildcard subscriptions match, as
	// in the reference. Clients rely on it: nats.go puts a consumer's
	// filter, wildcards included, in the CONSUMER.CREATE subject.
	if m := acc.mappings.Load(); m != nil {
		if ms, ok := m.apply(string(subj)); ok {
			subj = []byte(ms)
		}
	}
	r := c.match(acc, subj)
	n := c.dc.route(c, acc, r, subj, reply, hdr, data)
	if n > 0 {
		s.outMsgs.Add(int64(n))
		s.outBytes.Add(int64(n * len(msg)))
	} else if len(reply) > 0 && c.headers && c.opts.NoResponders {
		c.dc.noResponders(c, acc, subj, reply)
	}
}

// publishInternal routes a server-made message through acc as pc.
func (s *Server) publishInternal(acc *Account, pc *Client, subj, reply string, hdr, data []byte) {
	dc := dcPool.Get().(*deliveryCtx)
	sb := []byte(subj)
	var rb []byte
	if reply != "" {
		rb = []byte(reply)
	}
	var r *subject.Result[*Subscription]
	if oneShotSubject(sb) {
		r = acc.sl.MatchUncached(subj)
	} else {
		r = acc.sl.Match(subj)
	}
	n := dc.route(pc, acc, r, sb, rb, hdr, data)
	dc.flush()
	dc.stall = nil
	dcPool.Put(dc)
	if n > 0 {
		s.outMsgs.Add(int64(n))
		s.outBytes.Add(int64(n * (len(hdr) + len(data))))
	}
}

// publishInternalTo routes a server-made message by to and delivers it
// with subject subj.
func (s *Server) publishInternalTo(acc *Account, pc *Client, to, subj string, reply, hdr, data []byte) {
	dc := dcPool.Get().(*deliveryCtx)
	// route only reads the subject, so it may alias the string.
	sb := unsafe.Slice(unsafe.StringData(subj), len(subj))
	var r *subject.Result[*Subscription]
	if oneShotSubject([]byte(to)) {
		r = acc.sl.MatchUncached(to)
	} else {
		r = acc.sl.Match(to)
	}
	n := dc.route(pc, acc, r, sb, reply, hdr, data)
	dc.flush()
	dc.stall = nil
	dcPool.Put(dc)
	if n > 0 {
		s.outMsgs.Add(int64(n))
		s.outBytes.Add(int64(n * (len(hdr) + len(data))))
	}
}

var errClosed = errors.New("server: connection closed")

// processPing answers PING with PONG.
func (c *Client) processPing() {
	c.sendProto([]byte("PONG\r\n"))
}

// processPong records a PONG: resets the outstanding count and the RTT.
func (c *Client) processPong() {
	c.mu.Lock()
	c.pingsOut = 0
	if !c.rttStart.IsZero() {
		c.rtt = time.Since(c.rttStart)
		c.rttStart = time.Time{}
	}
	c.mu.Unlock()
}

// pingTimerFired sends a PING, or closes a connection that left too many
// unanswered.
func (c *Client) pingTimerFired() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.pingsOut+1 > c.srv.opts.MaxPingsOut {
		c.mu.Unlock()
		c.srv.Debugf("%s - Stale Client Connection - Closing", c)
		c.sendErr("Stale Connection")
		c.closeConnection(StaleConnection)
		return
	}
	c.pingsOut++
	c.rttStart = time.Now()
	c.enqueueLocked([]byte("PING\r\n"))
	c.pingTimer.Reset(c.srv.opts.PingInterval)
	c.mu.Unlock()
	c.signalFlush()
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
