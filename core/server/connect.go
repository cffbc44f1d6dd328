package server

import (
	"encoding/json"
	"time"
)

// ClientInfo is the client description the reference puts in advisories
// and API audit events.
type ClientInfo struct {
	Start   *time.Time    `json:"start,omitempty"`
	Host    string        `json:"host,omitempty"`
	ID      uint64        `json:"id,omitempty"`
	Account string        `json:"acc,omitempty"`
	User    string        `json:"user,omitempty"`
	Name    string        `json:"name,omitempty"`
	Lang    string        `json:"lang,omitempty"`
	Version string        `json:"ver,omitempty"`
	RTT     time.Duration `json:"rtt,omitempty"`
	Server  string        `json:"server,omitempty"`
	Stop    *time.Time    `json:"stop,omitempty"`
	NameTag string        `json:"name_tag,omitempty"`
	Kind    string        `json:"kind,omitempty"`
	Type    string        `json:"client_type,omitempty"`
}

// Info describes the client for advisories.
func (c *Client) Info() *ClientInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	ci := &ClientInfo{Host: c.host, ID: c.cid, User: c.user, Name: c.opts.Name,
		Lang: c.opts.Lang, Version: c.opts.Version, RTT: c.rtt, Server: c.srv.Name()}
	if a := c.acc.Load(); a != nil {
		ci.Account = a.Name
	}
	if c.kind == KindClient {
		st := c.start.UTC()
		ci.Start = &st
		ci.Kind = "Client"
		ci.Type = "nats"
	}
	return ci
}

// processConnect handles CONNECT.
func (c *Client) processConnect(arg []byte) error {
	s := c.srv
	c.mu.Lock()
	if c.authDone {
		c.mu.Unlock()
		// A second CONNECT is tolerated; the reference ignores it.
		return nil
	}
	var o connectOpts
	if err := json.Unmarshal(arg, &o); err != nil {
		c.mu.Unlock()
		return &protoErr{text: "Unknown Protocol Operation", reason: ParseError}
	}
	c.opts = o
	c.echo = o.Echo == nil || *o.Echo
	c.headers = o.Headers && !s.opts.NoHeaderSupport
	c.mu.Unlock()

	if o.Protocol < 0 || o.Protocol > 1 {
		c.sendErr("invalid client protocol")
		c.closeConnection(BadClientProtocolVersion)
		return errClosed
	}
	if o.NoResponders && !o.Headers {
		c.sendErr("no responders requires headers support")
		c.closeConnection(ProtocolViolation)
		return errClosed
	}
	if s.TLSRequired() && !o.TLSRequired && c.tlsState == "" {
		// A plain client on a TLS-only server never reaches here; the
		// handshake already failed.
	}
	acc, user, perms, err := s.authenticate(c, &o)
	if err != nil {
		s.Errorf("%s - authentication error - %v", c, err)
		c.mu.Lock()
		c.user = o.Username
		c.mu.Unlock()
		c.sendErr("Authorization Violation")
		c.closeConnection(AuthenticationViolation)
		return errClosed
	}
	c.perms.Store(perms)
	c.mu.Lock()
	c.authDone = true
	c.user = user
	if c.authTimer != nil {
		c.authTimer.Stop()
		c.authTimer = nil
	}
	c.mu.Unlock()
	c.acc.Store(acc)
	acc.addClient(c)
	c.sendOK()
	s.sendConnectEvent(c)
	return nil
}
