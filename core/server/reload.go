package server

import (
	"errors"
	"fmt"
	"reflect"
)

// ErrReloadUnsupported is returned when no config file backs the server.
var ErrReloadUnsupported = errors.New("server: reload needs a configuration file")

// SetReloader installs the function that re-reads options on SIGHUP.
func (s *Server) SetReloader(f func() (*Options, error)) {
	s.mu.Lock()
	s.reload = f
	s.mu.Unlock()
}

// Reload re-reads the configuration and applies what can change live.
func (s *Server) Reload() error {
	s.mu.Lock()
	f := s.reload
	s.mu.Unlock()
	if f == nil {
		return ErrReloadUnsupported
	}
	o, err := f()
	if err != nil {
		return err
	}
	return s.ApplyReload(o)
}

// reloadable are the Options fields a reload may change: identities,
// permissions, accounts (with their imports, exports, mappings and
// JetStream limits) and the debug/trace switches. Every other field must
// stay as it was.
var reloadable = map[string]bool{
	"Username": true, "Password": true, "Authorization": true, "AuthTimeout": true,
	"NoAuthUser": true, "Users": true, "Nkeys": true, "Accounts": true,
	"Permissions": true, "DefaultPermissions": true, "Mappings": true,
	"Debug": true, "Trace": true, "ConfigFile": true, "NoSigs": true,
	// Compared through the file names and switches instead.
	"TLSConfig": true,
}

// checkReloadable returns an error naming the first setting that differs
// from the running configuration and cannot change live.
func (s *Server) checkReloadable(n *Options) error {
	old := s.cfgOpts
	ov, nv := reflect.ValueOf(old).Elem(), reflect.ValueOf(n).Elem()
	t := ov.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if reloadable[f.Name] {
			continue
		}
		a, b := ov.Field(i).Interface(), nv.Field(i).Interface()
		if reflect.DeepEqual(a, b) {
			continue
		}
		// A random port resolved at Start is still the same port.
		switch f.Name {
		case "Port":
			if a.(int) < 0 && b.(int) == s.opts.Port {
				continue
			}
		case "HTTPPort":
			if a.(int) < 0 && b.(int) == s.opts.HTTPPort {
				continue
			}
		}
		return fmt.Errorf("config reload not supported for %s: old=%v, new=%v", f.Name, show(a), show(b))
	}
	return nil
}

func show(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		return rv.Elem().Interface()
	}
	return v
}

// ApplyReload applies new options: identities, permissions, accounts and
// log levels change live. Connections whose credentials no longer pass
// are closed with -ERR 'Authorization Violation'; the others keep running
// under their new permissions, losing subscriptions those no longer allow.
// A change to anything else is refused, and nothing is applied.
func (s *Server) ApplyReload(newOpts *Options) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	n := newOpts.Clone()
	n.SetDefaults()
	if err := s.checkReloadable(n); err != nil {
		return err
	}
	if err := validateAccounts(n); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	known := map[string]bool{GlobalAccountName: true}
	for _, ac := range n.Accounts {
		known[ac.Name] = true
	}
	if _, err := buildAuth(n, func(name string) bool {
		_, ok := s.LookupAccount(name)
		return ok || known[name]
	}); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	st, err := s.applyAccounts(n)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.auth.Store(st)
	s.mu.Lock()
	s.info.AuthRequired = st.required
	s.cfgOpts = n
	clients := make([]*Client, 0, len(s.clients))
	for _, c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	if l, ok := s.log.(interface{ SetLevels(bool, bool) }); ok {
		l.SetLevels(n.Debug, n.Trace)
	}
	for _, c := range clients {
		s.reauthorize(c)
	}
	s.Noticef("Reloaded server configuration")
	return nil
}

// reauthorize checks an open connection against the reloaded identities.
func (s *Server) reauthorize(c *Client) {
	c.mu.Lock()
	done, co := c.authDone, c.opts
	c.mu.Unlock()
	if !done {
		return
	}
	acc, _, perms, err := s.authenticate(c, &co)
	if err != nil || acc != c.acc.Load() {
		if err == nil {
			err = fmt.Errorf("account changed to %q", acc.Name)
		}
		s.Errorf("%s - authentication error - %v", c, err)
		c.sendErr("Authorization Violation")
		c.closeConnection(AuthenticationViolation)
		return
	}
	c.perms.Store(perms)
	c.mu.Lock()
	var drop []*Subscription
	for _, sub := range c.subs {
		if !perms.subAllowed(sub.subject, sub.queue) {
			drop = append(drop, sub)
			continue
		}
		sub.dchk = perms.needsDeliveryCheck(sub.subject)
	}
	c.mu.Unlock()
	for _, sub := range drop {
		c.unsubscribe(sub)
		if sub.queue != "" {
			c.sendErr(fmt.Sprintf("Permissions Violation for Subscription to %q using queue %q (sid %q)", sub.subject, sub.queue, sub.sid))
		} else {
			c.sendErr(fmt.Sprintf("Permissions Violation for Subscription to %q (sid %q)", sub.subject, sub.sid))
		}
		s.Noticef("Removed sub %q (sid %q) for User %q - not authorized", sub.subject, sub.sid, c.User())
	}
}
