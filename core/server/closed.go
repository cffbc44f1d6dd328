package server

import "time"

// closedConn is what /connz?state=closed shows of a finished connection.
type closedConn struct {
	info ConnInfo
}

// closedRing keeps the most recent closed connections. Guarded by Server.mu.
type closedRing struct {
	buf  []closedConn
	next int
	full bool
}

func newClosedRing(n int) *closedRing {
	if n <= 0 {
		n = 1
	}
	return &closedRing{buf: make([]closedConn, n)}
}

func (r *closedRing) add(c closedConn) {
	r.buf[r.next] = c
	r.next = (r.next + 1) % len(r.buf)
	if r.next == 0 {
		r.full = true
	}
}

func (r *closedRing) all() []closedConn {
	if !r.full {
		return append([]closedConn(nil), r.buf[:r.next]...)
	}
	out := make([]closedConn, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

func (c *Client) snapshotClosed() closedConn {
	ci := c.connInfo(time.Now(), true, false)
	return closedConn{info: ci}
}
