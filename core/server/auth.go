package server

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nkeys"
	"golang.org/x/crypto/bcrypt"
)

// ErrAuthorization is returned when credentials do not match.
var ErrAuthorization = errors.New("server: authorization violation")

// authState is everything authentication consults. It is built whole from
// Options and swapped atomically on reload, so a CONNECT never sees half of
// an old and half of a new configuration.
type authState struct {
	users      map[string]*authUser
	nkeys      map[string]*authUser
	username   string
	password   string
	token      string
	single     *clientPerms // permissions of the single user or token
	noAuthUser string
	timeout    time.Duration
	required   bool
}

// authUser is a configured identity with its account and compiled
// permissions (shared, read-only, by all of its connections).
type authUser struct {
	name    string
	pass    string
	nkey    string
	account string
	perms   *clientPerms
	types   []string
}

// buildAuth validates the identities in o and compiles their permissions.
// Accounts named by users must already be registered in known.
func buildAuth(o *Options, known func(string) bool) (*authState, error) {
	st := &authState{
		users:      make(map[string]*authUser),
		nkeys:      make(map[string]*authUser),
		username:   o.Username,
		password:   o.Password,
		token:      o.Authorization,
		noAuthUser: o.NoAuthUser,
		timeout:    o.AuthTimeout,
	}
	if st.timeout == 0 {
		st.timeout = DefaultAuthTimeout
	}
	var err error
	if st.single, err = compilePerms(o.Permissions); err != nil {
		return nil, err
	}
	addUser := func(u *User, account string, def *Permissions) error {
		if _, dup := st.users[u.Username]; dup {
			return fmt.Errorf("Duplicate user %q detected", u.Username)
		}
		p := u.Permissions
		if p == nil {
			p = def
		}
		cp, err := compilePerms(p)
		if err != nil {
			return fmt.Errorf("user %q: %w", u.Username, err)
		}
		if account == "" {
			account = u.Account
		}
		if account != "" && !known(account) {
			return fmt.Errorf("user %q references unknown account %q", u.Username, account)
		}
		st.users[u.Username] = &authUser{name: u.Username, pass: u.Password, account: account, perms: cp, types: u.AllowedConnectionTypes}
		return nil
	}
	addNkey := func(n *NkeyUser, account string, def *Permissions) error {
		if !nkeys.IsValidPublicUserKey(n.Nkey) {
			return fmt.Errorf("Not a valid public nkey for a user: %q", n.Nkey)
		}
		if _, dup := st.nkeys[n.Nkey]; dup {
			return fmt.Errorf("Duplicate nkey %q detected", n.Nkey)
		}
		p := n.Permissions
		if p == nil {
			p = def
		}
		cp, err := compilePerms(p)
		if err != nil {
			return fmt.Errorf("nkey %q: %w", n.Nkey, err)
		}
		if account == "" {
			account = n.Account
		}
		if account != "" && !known(account) {
			return fmt.Errorf("nkey %q references unknown account %q", n.Nkey, account)
		}
		st.nkeys[n.Nkey] = &authUser{name: n.Nkey, nkey: n.Nkey, account: account, perms: cp}
		return nil
	}
	for _, u := range o.Users {
		if err := addUser(u, "", o.DefaultPermissions); err != nil {
			return nil, err
		}
	}
	for _, n := range o.Nkeys {
		if err := addNkey(n, "", o.DefaultPermissions); err != nil {
			return nil, err
		}
	}
	for _, ac := range o.Accounts {
		for _, u := range ac.Users {
			if err := addUser(u, ac.Name, ac.DefaultPermissions); err != nil {
				return nil, err
			}
		}
		for _, n := range ac.Nkeys {
			if err := addNkey(n, ac.Name, ac.DefaultPermissions); err != nil {
				return nil, err
			}
		}
	}
	if len(st.users) > 0 && st.token != "" {
		return nil, errors.New("Can not have a token and a users array")
	}
	if len(st.users) > 0 && st.username != "" {
		return nil, errors.New("Can not have a single user/pass and a users array")
	}
	if st.username != "" && st.token != "" {
		return nil, errors.New("Cannot have a user/pass and token")
	}
	if st.noAuthUser != "" {
		if _, ok := st.users[st.noAuthUser]; !ok {
			return nil, fmt.Errorf("no_auth_user %q not present as user", st.noAuthUser)
		}
	}
	st.required = st.username != "" || st.token != "" || len(st.users) > 0 || len(st.nkeys) > 0
	return st, nil
}

// authRequired reports whether clients must present credentials.
func (s *Server) authRequired() bool { return s.auth.Load().required }

func (s *Server) needsNonce() bool { return len(s.auth.Load().nkeys) > 0 }

// authenticate checks the CONNECT credentials against the current auth
// state and returns the account, user name and permissions the client
// gets. It is also how a reload re-validates open connections.
func (s *Server) authenticate(c *Client, co *connectOpts) (*Account, string, *clientPerms, error) {
	st := s.auth.Load()
	if !st.required {
		return s.gacc, "", nil, nil
	}
	var u *authUser
	switch {
	case co.Nkey != "" && len(st.nkeys) > 0:
		u = st.nkeys[co.Nkey]
		if u == nil {
			return nil, "", nil, ErrAuthorization
		}
		if err := verifyNonceSig(co.Nkey, co.Sig, c.nonce); err != nil {
			return nil, "", nil, err
		}
	case co.Username != "" && len(st.users) > 0:
		u = st.users[co.Username]
		if u == nil || !passwordMatches(u.pass, co.Password) {
			return nil, "", nil, ErrAuthorization
		}
	case st.username != "":
		if co.Username == st.username && passwordMatches(st.password, co.Password) {
			return s.gacc, co.Username, st.single, nil
		}
		return nil, "", nil, ErrAuthorization
	case st.token != "":
		if passwordMatches(st.token, co.AuthToken) {
			return s.gacc, "", st.single, nil
		}
		return nil, "", nil, ErrAuthorization
	case st.noAuthUser != "" && co.Username == "" && co.AuthToken == "" && co.Nkey == "":
		u = st.users[st.noAuthUser]
	}
	if u == nil {
		return nil, "", nil, ErrAuthorization
	}
	if len(u.types) > 0 && !allowsStandard(u.types) {
		return nil, "", nil, fmt.Errorf("%w: connection type not allowed", ErrAuthorization)
	}
	acc := s.accountFor(u.account)
	if acc == nil {
		return nil, "", nil, fmt.Errorf("%w: account %q is gone", ErrAuthorization, u.account)
	}
	return acc, u.name, u.perms, nil
}

// allowsStandard reports whether a user's allowed connection types admit
// a plain client connection, the only kind Hangar serves.
func allowsStandard(types []string) bool {
	for _, t := range types {
		if strings.EqualFold(t, "STANDARD") {
			return true
		}
	}
	return false
}

func (s *Server) accountFor(name string) *Account {
	if name == "" {
		return s.gacc
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts[name]
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
