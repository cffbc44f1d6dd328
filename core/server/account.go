package server

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hangar-mq/hangar/core/subject"
)

// Well-known account names.
const (
	GlobalAccountName = "$G"
	SystemAccountName = "$SYS"
)

// Account is the unit of isolation: every subscription, interest lookup and
// stream belongs to exactly one account, and messages never cross accounts
// except through explicit exports and imports.
type Account struct {
	Name    string
	srv     *Server
	created time.Time
	sl      *subject.Sublist[*Subscription]

	// mu guards clients and the fields below it. Order: Server.mu, Account.mu, client.mu.
	mu       sync.RWMutex
	clients  map[*Client]struct{}
	ic       *Client // internal client owning internal subscriptions
	jsLimits *JetStreamAccountLimits
	exports  []*export
	imports  []*installedImport

	// mappings rewrite published subjects; nil when there are none.
	mappings atomic.Pointer[mappings]
	// rt routes responses of service imports served by this account.
	rt atomic.Pointer[respTable]
	// totalConns counts connections ever bound to the account.
	totalConns atomic.Int64

	// ext holds per-account state of extensions (the JetStream runtime).
	ext sync.Map

	inMsgs, inBytes, outMsgs, outBytes atomic.Int64
	numConns                           atomic.Int32
	numLeafs                           atomic.Int32
}

func newAccount(s *Server, name string) *Account {
	a := &Account{
		Name:    name,
		srv:     s,
		created: time.Now().UTC(),
		sl:      subject.NewSublist[*Subscription](),
		clients: make(map[*Client]struct{}),
	}
	a.ic = s.newInternalClient(a)
	return a
}

// Sublist returns the account's subject-interest index.
func (a *Account) Sublist() *subject.Sublist[*Subscription] { return a.sl }

// Server returns the server the account lives on.
func (a *Account) Server() *Server { return a.srv }

// NumConnections returns the number of client connections bound to a.
func (a *Account) NumConnections() int { return int(a.numConns.Load()) }

// JetStreamLimits returns the account's JetStream limits, or nil when the
// account has JetStream disabled. Following the reference: on a server with
// JetStream on, the global account has it (unlimited) only when no other
// account besides the system account is configured; otherwise exactly the
// accounts whose configuration says `jetstream` have it. The system account
// never has it.
func (a *Account) JetStreamLimits() *JetStreamAccountLimits {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.jsLimits
}

// SetJetStreamLimits enables JetStream for the account with the limits.
func (a *Account) SetJetStreamLimits(l *JetStreamAccountLimits) {
	a.mu.Lock()
	a.jsLimits = l
	a.mu.Unlock()
}

// Extension returns a value an extension stored on the account under key.
func (a *Account) Extension(key any) (any, bool) { return a.ext.Load(key) }

// SetExtension stores an extension value on the account.
func (a *Account) SetExtension(key, v any) { a.ext.Store(key, v) }

// ErrBadSubject is returned for an invalid subject on internal subscribe.
var ErrBadSubject = errors.New("server: invalid subject")

// Subscribe registers an internal subscription whose handler is called
// inline, on the publisher's goroutine, for every matching message. The
// handler must not block for long: it should copy what it keeps and hand
// heavy work to its own goroutine.
func (a *Account) Subscribe(subj, queue string, cb MsgHandler) (*Subscription, error) {
	if !subject.Valid(subj) {
		return nil, ErrBadSubject
	}
	sub := &Subscription{client: a.ic, subject: subj, queue: queue, icb: cb}
	a.ic.mu.Lock()
	a.ic.nextSID++
	sub.sid = itoa(a.ic.nextSID)
	a.ic.subs[sub.sid] = sub
	a.ic.mu.Unlock()
	a.sl.Insert(subj, queue, sub)
	return sub, nil
}

// Unsubscribe removes an internal subscription.
func (a *Account) Unsubscribe(sub *Subscription) {
	if sub == nil || !sub.closed.CompareAndSwap(false, true) {
		return
	}
	a.sl.Remove(sub.subject, sub.queue, sub)
	a.ic.mu.Lock()
	delete(a.ic.subs, sub.sid)
	a.ic.mu.Unlock()
}

// Publish sends a message into the account as the server's internal client:
// subscribers, internal handlers and streams all see it.
func (a *Account) Publish(subj, reply string, hdr, data []byte) {
	a.srv.publishInternal(a, a.ic, subj, reply, hdr, data)
}

// PublishAs publishes on behalf of the client c (so that echo rules and
// stats attribute the message to c), typically to answer a request c made.
func (a *Account) PublishAs(c *Client, subj, reply string, hdr, data []byte) {
	if c == nil {
		c = a.ic
	}
	a.srv.publishInternal(a, c, subj, reply, hdr, data)
}

// PublishTo delivers a message to the subscribers of to while presenting
// it with subject subj: how JetStream hands a stored message to a pull
// request's reply subject or a push consumer's deliver subject, keeping
// the subject it was published on.
func (a *Account) PublishTo(to, subj string, reply, hdr, data []byte) {
	a.srv.publishInternalTo(a, a.ic, to, subj, reply, hdr, data)
}

// HasInterest reports whether anything in the account subscribes to subj.
func (a *Account) HasInterest(subj string) bool { return a.sl.HasInterest(subj) }

func (a *Account) addClient(c *Client) {
	a.mu.Lock()
	a.clients[c] = struct{}{}
	a.mu.Unlock()
	a.numConns.Add(1)
	a.totalConns.Add(1)
}

// setMappings compiles and installs the account's subject mappings.
func (a *Account) setMappings(cfg []*MappingConfig) error {
	m, err := compileMappings(cfg)
	if err != nil {
		return fmt.Errorf("account %q: %w", a.Name, err)
	}
	a.mappings.Store(m)
	return nil
}

func (a *Account) removeClient(c *Client) {
	a.mu.Lock()
	_, ok := a.clients[c]
	delete(a.clients, c)
	a.mu.Unlock()
	if ok {
		a.numConns.Add(-1)
	}
}

// Clients returns a snapshot of the account's client connections.
func (a *Account) Clients() []*Client {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]*Client, 0, len(a.clients))
	for c := range a.clients {
		out = append(out, c)
	}
	return out
}
