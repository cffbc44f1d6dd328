package server

import (
	"bytes"
	"fmt"
)

// parseState is the parser's memory across reads. The hot path never
// copies: a PUB whose control line and payload sit in one read buffer is
// dispatched from that buffer. Only a message split across reads is
// assembled in msgBuf, and its arguments are then copied to argCopy because
// the read buffer is about to be reused.
type parseState struct {
	awaitPayload bool
	subject      []byte
	reply        []byte
	hdrLen       int
	size         int
	lineBuf      []byte
	msgBuf       []byte
	argCopy      []byte
	args         [4][]byte
}

// protoErr is a protocol failure: text goes out as -ERR (if not empty) and
// reason is recorded when the connection closes.
type protoErr struct {
	text   string
	reason ClosedState
}

func (e *protoErr) Error() string { return e.text }

var (
	errUnknownOp   = &protoErr{text: "Unknown Protocol Operation", reason: ParseError}
	errControlLine = &protoErr{text: "Maximum Control Line Exceeded", reason: MaxControlLineExceeded}
	errMaxPayload  = &protoErr{text: "Maximum Payload Violation", reason: MaxPayloadExceeded}
	errAuthFirst   = &protoErr{text: "Authorization Violation", reason: AuthenticationViolation}
)

// parse consumes buf entirely, dispatching each complete operation.
func (c *Client) parse(buf []byte) error {
	ps := &c.ps
	maxLine := int(c.srv.opts.MaxControlLine)
	for len(buf) > 0 {
		if ps.awaitPayload {
			need := ps.size + 2
			if len(ps.msgBuf) == 0 && len(buf) >= need {
				if buf[ps.size] != '\r' || buf[ps.size+1] != '\n' {
					return errUnknownOp
				}
				c.dispatchMsg(buf[:ps.size])
				buf = buf[need:]
				continue
			}
			if len(ps.msgBuf) == 0 {
				// The payload continues in a later read: keep the
				// arguments alive past this buffer.
				c.saveArgs()
			}
			take := need - len(ps.msgBuf)
			if take > len(buf) {
				take = len(buf)
			}
			ps.msgBuf = append(ps.msgBuf, buf[:take]...)
			buf = buf[take:]
			if len(ps.msgBuf) == need {
				if ps.msgBuf[ps.size] != '\r' || ps.msgBuf[ps.size+1] != '\n' {
					return errUnknownOp
				}
				c.dispatchMsg(ps.msgBuf[:ps.size])
				if cap(ps.msgBuf) > maxKeepOut {
					ps.msgBuf = nil
				} else {
					ps.msgBuf = ps.msgBuf[:0]
				}
			}
			continue
		}
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			if len(ps.lineBuf)+len(buf) > maxLine {
				return errControlLine
			}
			ps.lineBuf = append(ps.lineBuf, buf...)
			return nil
		}
		line := buf[:i]
		buf = buf[i+1:]
		if len(ps.lineBuf) > 0 {
			ps.lineBuf = append(ps.lineBuf, line...)
			line = ps.lineBuf
		}
		if len(line) > maxLine {
			return errControlLine
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		err := c.processLine(line)
		ps.lineBuf = ps.lineBuf[:0]
		if err != nil {
			return err
		}
	}
	if ps.awaitPayload && len(ps.msgBuf) == 0 {
		// The control line ended exactly at the end of this read: its
		// arguments still point into the buffer the next read overwrites.
		c.saveArgs()
	}
	return nil
}

// saveArgs copies subject and reply out of the read buffer.
func (c *Client) saveArgs() {
	ps := &c.ps
	ps.argCopy = append(ps.argCopy[:0], ps.subject...)
	ps.argCopy = append(ps.argCopy, ps.reply...)
	ps.subject = ps.argCopy[:len(ps.subject)]
	ps.reply = ps.argCopy[len(ps.subject):]
}

func (c *Client) dispatchMsg(msg []byte) {
	ps := &c.ps
	ps.awaitPayload = false
	if c.trace {
		c.srv.Tracef("%s - <<- MSG_PAYLOAD: [%q]", c, msg)
	}
	c.processMsg(ps.subject, ps.reply, ps.hdrLen, msg)
	ps.subject, ps.reply = nil, nil
	if c.opts.Verbose {
		c.sendProto([]byte("+OK\r\n"))
	}
}

// processLine dispatches one control line (without CRLF).
func (c *Client) processLine(line []byte) error {
	op, rest := splitOp(line)
	if len(op) == 0 {
		return errUnknownOp
	}
	if c.trace {
		c.srv.Tracef("%s - <<- [%s]", c, line)
	}
	switch op[0] | 0x20 {
	case 'p':
		switch {
		case eqFold(op, "PUB"):
			return c.parsePub(rest, false)
		case eqFold(op, "PING"):
			if !c.authDoneFast() {
				if c.srv.authRequired() {
					return errAuthFirst
				}
			}
			c.processPing()
			return nil
		case eqFold(op, "PONG"):
			c.processPong()
			return nil
		}
	case 'h':
		if eqFold(op, "HPUB") {
			return c.parsePub(rest, true)
		}
	case 's':
		if eqFold(op, "SUB") {
			if err := c.requireAuth(); err != nil {
				return err
			}
			n := splitArgs(rest, &c.ps.args)
			if n < 0 {
				return errUnknownOp
			}
			return c.processSub(c.ps.args[:n])
		}
	case 'u':
		if eqFold(op, "UNSUB") {
			if err := c.requireAuth(); err != nil {
				return err
			}
			n := splitArgs(rest, &c.ps.args)
			if n < 0 {
				return errUnknownOp
			}
			return c.processUnsub(c.ps.args[:n])
		}
	case 'c':
		if eqFold(op, "CONNECT") {
			return c.processConnect(rest)
		}
	case 'i':
		if eqFold(op, "INFO") {
			// Clients do not send INFO; the reference ignores it.
			return nil
		}
	case '+':
		if eqFold(op, "+OK") {
			return nil
		}
	case '-':
		if eqFold(op, "-ERR") {
			return nil
		}
	}
	return errUnknownOp
}

// authDoneFast reads authDone from the read loop, which is its only writer.
func (c *Client) authDoneFast() bool { return c.authDone }

// requireAuth rejects operations before CONNECT when auth is required; with
// no auth configured the reference lets a bare connection work.
func (c *Client) requireAuth() error {
	if c.authDone {
		return nil
	}
	if c.srv.authRequired() {
		return errAuthFirst
	}
	c.implicitConnect()
	return nil
}

// implicitConnect binds a client that skipped CONNECT to the default
// account, as if it had sent an empty CONNECT.
func (c *Client) implicitConnect() {
	if c.authDone {
		return
	}
	if err := c.processConnect([]byte("{}")); err != nil {
		return
	}
}

// parsePub parses PUB subject [reply] size or HPUB subject [reply] hdr size.
func (c *Client) parsePub(rest []byte, hdrs bool) error {
	if err := c.requireAuth(); err != nil {
		return err
	}
	ps := &c.ps
	n := splitArgs(rest, &ps.args)
	args := ps.args[:max(n, 0)]
	var szArg, hdrArg []byte
	switch {
	case !hdrs && n == 2:
		ps.subject, ps.reply, szArg = args[0], nil, args[1]
	case !hdrs && n == 3:
		ps.subject, ps.reply, szArg = args[0], args[1], args[2]
	case hdrs && n == 3:
		ps.subject, ps.reply, hdrArg, szArg = args[0], nil, args[1], args[2]
	case hdrs && n == 4:
		ps.subject, ps.reply, hdrArg, szArg = args[0], args[1], args[2], args[3]
	default:
		return errUnknownOp
	}
	size, ok := parseSize(szArg)
	if !ok {
		return errUnknownOp
	}
	ps.hdrLen = 0
	if hdrs {
		if !c.headers {
			return errUnknownOp
		}
		h, ok := parseSize(hdrArg)
		if !ok || h > size {
			return errUnknownOp
		}
		ps.hdrLen = h
	}
	if mp := int(c.srv.opts.MaxPayload); mp > 0 && size > mp {
		c.srv.Errorf("%s - Maximum Payload Violation: %d vs %d", c, size, mp)
		return errMaxPayload
	}
	ps.size = size
	ps.awaitPayload = true
	return nil
}

// splitOp returns the operation word and the rest of the line after the
// separating whitespace.
func splitOp(line []byte) (op, rest []byte) {
	i := 0
	for i < len(line) && line[i] != ' ' && line[i] != '\t' {
		i++
	}
	op = line[:i]
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return op, line[i:]
}

// splitArgs splits on runs of spaces and tabs into out without allocating.
// It returns -1 for more than len(out) arguments.
func splitArgs(b []byte, out *[4][]byte) int {
	n := 0
	start := -1
	for i, ch := range b {
		switch ch {
		case ' ', '\t':
			if start >= 0 {
				if n == len(out) {
					return -1
				}
				out[n] = b[start:i]
				n++
				start = -1
			}
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		if n == len(out) {
			return -1
		}
		out[n] = b[start:]
		n++
	}
	return n
}

// parseSize parses a non-negative decimal that fits in an int32.
func parseSize(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	n := 0
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + int(ch-'0')
	}
	if n > 1<<31-1 {
		return 0, false
	}
	return n, true
}

// eqFold compares an ASCII op word case-insensitively to upper-case want.
func eqFold(b []byte, want string) bool {
	if len(b) != len(want) {
		return false
	}
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if 'a' <= ch && ch <= 'z' {
			ch -= 'a' - 'A'
		}
		if ch != want[i] {
			return false
		}
	}
	return true
}

var _ = fmt.Sprintf
