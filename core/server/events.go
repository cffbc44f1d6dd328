package server

import (
	"encoding/json"
	"time"
)

// Advisory types of the account events, as the reference names them.
const (
	connectEventType      = "io.nats.server.advisory.v1.client_connect"
	disconnectEventType   = "io.nats.server.advisory.v1.client_disconnect"
	accountConnsEventType = "io.nats.server.advisory.v1.account_connections"
)

// ConnectEventMsg is published on $SYS.ACCOUNT.<acc>.CONNECT.
type ConnectEventMsg struct {
	Type   string      `json:"type"`
	ID     string      `json:"id"`
	Time   time.Time   `json:"timestamp"`
	Server *ServerInfo `json:"server"`
	Client *ClientInfo `json:"client"`
}

// DisconnectEventMsg is published on $SYS.ACCOUNT.<acc>.DISCONNECT. Sent
// counts what the client sent to the server, Received what it got.
type DisconnectEventMsg struct {
	Type     string      `json:"type"`
	ID       string      `json:"id"`
	Time     time.Time   `json:"timestamp"`
	Server   *ServerInfo `json:"server"`
	Client   *ClientInfo `json:"client"`
	Sent     DataStats   `json:"sent"`
	Received DataStats   `json:"received"`
	Reason   string      `json:"reason"`
}

// AccountNumConns is published on $SYS.ACCOUNT.<acc>.SERVER.CONNS when an
// account's connection count changes.
type AccountNumConns struct {
	Type   string      `json:"type"`
	ID     string      `json:"id"`
	Time   time.Time   `json:"timestamp"`
	Server *ServerInfo `json:"server"`
	AccountStat
}

// eventClientInfo describes c the way events do: without the server name
// (the envelope carries it), with the account as name tag.
func (c *Client) eventClientInfo() *ClientInfo {
	ci := c.Info()
	ci.Server = ""
	ci.NameTag = ci.Account
	c.mu.Lock()
	if c.closed {
		st := c.stop.UTC()
		ci.Stop = &st
	}
	c.mu.Unlock()
	return ci
}

// publishEvent sends v on subj in the system account if anyone listens;
// events are best effort and never slow a connect when nobody does.
func (s *Server) publishEvent(subj string, v func(now time.Time, si *ServerInfo) any) {
	sys := s.SystemAccount()
	if sys == nil || !sys.sl.HasInterest(subj) {
		return
	}
	now := time.Now().UTC()
	b, err := json.Marshal(v(now, s.serverInfo()))
	if err != nil {
		return
	}
	sys.Publish(subj, "", nil, b)
}

func (s *Server) sendConnectEvent(c *Client) {
	if c.kind != KindClient {
		return
	}
	acc := c.acc.Load()
	s.publishEvent("$SYS.ACCOUNT."+acc.Name+".SERVER.CONNS", func(now time.Time, si *ServerInfo) any {
		return &AccountNumConns{Type: accountConnsEventType, ID: randToken(22), Time: now, Server: si, AccountStat: *acc.stat()}
	})
	s.publishEvent("$SYS.ACCOUNT."+acc.Name+".CONNECT", func(now time.Time, si *ServerInfo) any {
		return &ConnectEventMsg{Type: connectEventType, ID: randToken(22), Time: now, Server: si, Client: c.eventClientInfo()}
	})
}

// sendDisconnectEvent reports a connection that had authenticated, or
// failed to: the reference reports both, a failure under the global
// account.
func (s *Server) sendDisconnectEvent(c *Client) {
	if c.kind != KindClient {
		return
	}
	c.mu.Lock()
	done := c.authDone
	report := done || c.reason == AuthenticationViolation
	reason := c.reason
	c.mu.Unlock()
	if !report {
		return
	}
	acc := c.acc.Load()
	if done {
		s.publishEvent("$SYS.ACCOUNT."+acc.Name+".SERVER.CONNS", func(now time.Time, si *ServerInfo) any {
			return &AccountNumConns{Type: accountConnsEventType, ID: randToken(22), Time: now, Server: si, AccountStat: *acc.stat()}
		})
	}
	s.publishEvent("$SYS.ACCOUNT."+acc.Name+".DISCONNECT", func(now time.Time, si *ServerInfo) any {
		return &DisconnectEventMsg{Type: disconnectEventType, ID: randToken(22), Time: now, Server: si,
			Client:   c.eventClientInfo(),
			Sent:     DataStats{Msgs: c.inMsgs.Load(), Bytes: c.inBytes.Load()},
			Received: DataStats{Msgs: c.outMsgs.Load(), Bytes: c.outBytes.Load()},
			Reason:   string(reason)}
	})
}
