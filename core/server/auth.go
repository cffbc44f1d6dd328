package server

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hangar-mq/hangar/core/subject"
	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/bcrypt"
)

// ErrAuthorization is returned when credentials do not match.
var ErrAuthorization = errors.New("server: authorization violation")

// configureAuth builds the user and account tables from opts.
func (s *Server) configureAuth(o *Options) error {
	users := make(map[string]*User)
	nkeyUsers := make(map[string]*NkeyUser)
	for _, u := range o.Users {
		if _, dup := users[u.Username]; dup {
			return fmt.Errorf("server: duplicate user %q", u.Username)
		}
		users[u.Username] = u
	}
	for _, n := range o.Nkeys {
		if !nkeys.IsValidPublicUserKey(n.Nkey) {
			return fmt.Errorf("server: not a valid public user nkey: %q", n.Nkey)
		}
		nkeyUsers[n.Nkey] = n
	}
	for _, ac := range o.Accounts {
		if ac.Name == "" {
			return fmt.Errorf("server: account with no name")
		}
		a := s.registerAccountLocked(ac.Name)
		if ac.JetStream != nil {
			a.jsLimits = ac.JetStream
		}
		for _, u := range ac.Users {
			if _, dup := users[u.Username]; dup {
				return fmt.Errorf("server: duplicate user %q", u.Username)
			}
			u.Account = ac.Name
			users[u.Username] = u
		}
		for _, n := range ac.Nkeys {
			if !nkeys.IsValidPublicUserKey(n.Nkey) {
				return fmt.Errorf("server: not a valid public user nkey: %q", n.Nkey)
			}
			n.Account = ac.Name
			nkeyUsers[n.Nkey] = n
		}
	}
	for _, u := range users {
		if u.Account != "" {
			if _, ok := s.accounts[u.Account]; !ok {
				return fmt.Errorf("server: user %q references unknown account %q", u.Username, u.Account)
			}
		}
	}
	if o.NoAuthUser != "" {
		if _, ok := users[o.NoAuthUser]; !ok {
			return fmt.Errorf("server: no_auth_user %q not present as user", o.NoAuthUser)
		}
	}
	s.users, s.nkeys = users, nkeyUsers
	if o.SystemAccount != "" {
		s.sysAcc = s.registerAccountLocked(o.SystemAccount)
	} else if !o.NoSystemAccount {
		s.sysAcc = s.registerAccountLocked(SystemAccountName)
	}
	return nil
}

// authRequired reports whether clients must present credentials.
func (s *Server) authRequired() bool {
	o := s.opts
	return o.Username != "" || o.Authorization != "" || len(s.users) > 0 || len(s.nkeys) > 0
}

func (s *Server) needsNonce() bool { return len(s.nkeys) > 0 }

// authenticate checks the CONNECT credentials and returns the account,
// user name and permissions the client gets.
func (s *Server) authenticate(c *Client, co *connectOpts) (*Account, string, *clientPerms, error) {
	o := s.opts
	s.mu.Lock()
	users, nk := s.users, s.nkeys
	s.mu.Unlock()
	if !s.authRequired() {
		return s.gacc, "", nil, nil
	}
	switch {
	case co.Nkey != "" && len(nk) > 0:
		u, ok := nk[co.Nkey]
		if !ok {
			return nil, "", nil, ErrAuthorization
		}
		if err := verifyNonceSig(co.Nkey, co.Sig, c.nonce); err != nil {
			return nil, "", nil, err
		}
		return s.accountFor(u.Account), co.Nkey, compilePerms(u.Permissions), nil
	case co.Username != "" && len(users) > 0:
		u, ok := users[co.Username]
		if !ok || !passwordMatches(u.Password, co.Password) {
			return nil, "", nil, ErrAuthorization
		}
		return s.accountFor(u.Account), u.Username, compilePerms(u.Permissions), nil
	case o.Username != "":
		if co.Username == o.Username && passwordMatches(o.Password, co.Password) {
			return s.gacc, co.Username, nil, nil
		}
		return nil, "", nil, ErrAuthorization
	case o.Authorization != "":
		if passwordMatches(o.Authorization, co.AuthToken) {
			return s.gacc, "", nil, nil
		}
		return nil, "", nil, ErrAuthorization
	case o.NoAuthUser != "" && co.Username == "" && co.AuthToken == "" && co.Nkey == "":
		u := users[o.NoAuthUser]
		return s.accountFor(u.Account), u.Username, compilePerms(u.Permissions), nil
	}
	return nil, "", nil, ErrAuthorization
}

func (s *Server) accountFor(name string) *Account {
	if name == "" {
		return s.gacc
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[name]; ok {
		return a
	}
	return s.gacc
}

// passwordMatches compares in constant time, or with bcrypt when the
// configured password is a bcrypt hash.
func passwordMatches(want, got string) bool {
	if strings.HasPrefix(want, "$2a$") || strings.HasPrefix(want, "$2b$") || strings.HasPrefix(want, "$2y$") {
		return bcrypt.CompareHashAndPassword([]byte(want), []byte(got)) == nil
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

func verifyNonceSig(pub, sig string, nonce []byte) error {
	if sig == "" {
		return ErrAuthorization
	}
	kp, err := nkeys.FromPublicKey(pub)
	if err != nil {
		return ErrAuthorization
	}
	raw, err := decodeSig(sig)
	if err != nil {
		return ErrAuthorization
	}
	if err := kp.Verify(nonce, raw); err != nil {
		return ErrAuthorization
	}
	return nil
}

// clientPerms is the compiled form of Permissions.
type clientPerms struct {
	pubAllow *subject.Sublist[int]
	pubDeny  *subject.Sublist[int]
	subAllow *subject.Sublist[int]
	subDeny  *subject.Sublist[int]
	resp     *ResponsePermission
}

type respPerm struct {
	n       int
	expires time.Time
}

func compilePerms(p *Permissions) *clientPerms {
	if p == nil {
		return nil
	}
	cp := &clientPerms{resp: p.Response}
	build := func(list []string) *subject.Sublist[int] {
		if len(list) == 0 {
			return nil
		}
		sl := subject.NewSublist[int]()
		for i, s := range list {
			sl.Insert(s, "", i)
		}
		return sl
	}
	if p.Publish != nil {
		cp.pubAllow, cp.pubDeny = build(p.Publish.Allow), build(p.Publish.Deny)
	}
	if p.Subscribe != nil {
		cp.subAllow, cp.subDeny = build(p.Subscribe.Allow), build(p.Subscribe.Deny)
	}
	if cp.resp != nil && cp.pubAllow == nil {
		// allow_responses alone means "only responses may be published".
		cp.pubAllow = subject.NewSublist[int]()
	}
	return cp
}

// canPublish checks publish permissions, including reply subjects granted
// by allow_responses.
func (c *Client) canPublish(subj []byte) bool {
	p := c.perms
	if p == nil {
		return true
	}
	s := string(subj)
	allowed := p.pubAllow == nil || !p.pubAllow.Match(s).Empty()
	if allowed && p.pubDeny != nil && !p.pubDeny.Match(s).Empty() {
		allowed = false
	}
	if !allowed && p.resp != nil {
		c.mu.Lock()
		if r, ok := c.replies[s]; ok {
			if (p.resp.Expires > 0 && time.Now().After(r.expires)) || r.n <= 0 {
				delete(c.replies, s)
			} else {
				r.n--
				allowed = true
				if r.n == 0 {
					delete(c.replies, s)
				}
			}
		}
		c.mu.Unlock()
	}
	return allowed
}

// canSubscribe checks subscribe permissions. A wildcard subscription must
// lie inside an allowed pattern; one that is inside a denied pattern is
// refused.
func (c *Client) canSubscribe(subj, queue string) bool {
	p := c.perms
	if p == nil {
		return true
	}
	if p.subAllow != nil && p.subAllow.Match(subj).Empty() {
		return false
	}
	if p.subDeny != nil && !p.subDeny.Match(subj).Empty() {
		return false
	}
	return true
}

// noteReply grants the client the right to publish once to reply, the
// reply subject of a request delivered to it. Held: c.mu.
func (c *Client) noteReplyLocked(reply []byte) {
	if c.replies == nil {
		c.replies = make(map[string]*respPerm)
	}
	max := c.perms.resp.MaxMsgs
	if max <= 0 {
		max = 1
	}
	exp := c.perms.resp.Expires
	if exp <= 0 {
		exp = 2 * time.Minute
	}
	c.replies[string(reply)] = &respPerm{n: max, expires: time.Now().Add(exp)}
	if len(c.replies) > 10000 {
		now := time.Now()
		for k, r := range c.replies {
			if now.After(r.expires) {
				delete(c.replies, k)
			}
		}
	}
}
