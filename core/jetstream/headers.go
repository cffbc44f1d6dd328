package jetstream

import (
	"bytes"
	"strconv"
	"strings"
)

// Header names the runtime reads or writes.
const (
	hdrLine               = "NATS/1.0"
	hdrMsgID              = "Nats-Msg-Id"
	hdrExpStream          = "Nats-Expected-Stream"
	hdrExpLastSeq         = "Nats-Expected-Last-Sequence"
	hdrExpLastSubjSeq     = "Nats-Expected-Last-Subject-Sequence"
	hdrExpLastSubjSeqSubj = "Nats-Expected-Last-Subject-Sequence-Subject"
	hdrExpLastMsgID       = "Nats-Expected-Last-Msg-Id"
	hdrRollup             = "Nats-Rollup"
	hdrTTL                = "Nats-TTL"
	hdrMarkerReason       = "Nats-Marker-Reason"
	hdrStream             = "Nats-Stream"
	hdrSubject            = "Nats-Subject"
	hdrSequence           = "Nats-Sequence"
	hdrTimeStamp          = "Nats-Time-Stamp"
	hdrLastSequence       = "Nats-Last-Sequence"
	hdrNumPending         = "Nats-Num-Pending"
	hdrUpToSequence       = "Nats-UpTo-Sequence"
	hdrMsgSize            = "Nats-Msg-Size"
	hdrStreamSource       = "Nats-Stream-Source"
	hdrRequiredAPILevel   = "Nats-Required-Api-Level"
	hdrIncr               = "Nats-Incr"
	hdrBatchID            = "Nats-Batch-Id"
	hdrSchedule           = "Nats-Schedule"

	rollupSubject = "sub"
	rollupAll     = "all"
)

// getHeader returns the first value of key in a raw NATS header block. The
// match is case-sensitive first, as publishers of these headers spell them
// canonically, then case-insensitive.
func getHeader(hdr []byte, key string) (string, bool) {
	if len(hdr) == 0 {
		return "", false
	}
	if v, ok := scanHeader(hdr, key, false); ok {
		return v, true
	}
	return scanHeader(hdr, key, true)
}

func scanHeader(hdr []byte, key string, fold bool) (string, bool) {
	// Skip the status line.
	i := bytes.IndexByte(hdr, '\n')
	if i < 0 {
		return "", false
	}
	rest := hdr[i+1:]
	for len(rest) > 0 {
		j := bytes.IndexByte(rest, '\n')
		var line []byte
		if j < 0 {
			line, rest = rest, nil
		} else {
			line, rest = rest[:j], rest[j+1:]
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			break
		}
		c := bytes.IndexByte(line, ':')
		if c < 0 {
			continue
		}
		k := line[:c]
		match := false
		if fold {
			match = strings.EqualFold(string(k), key)
		} else {
			match = string(k) == key
		}
		if match {
			return string(bytes.TrimSpace(line[c+1:])), true
		}
	}
	return "", false
}

// hasHeader reports whether a header block names key (cheap pre-check).
func hasHeaderPrefix(hdr []byte, prefix string) bool {
	return len(hdr) > 0 && bytes.Contains(hdr, []byte(prefix))
}

// headerBuilder builds a NATS header block.
type headerBuilder struct {
	b []byte
}

func newHeader(status string) *headerBuilder {
	h := &headerBuilder{b: make([]byte, 0, 128)}
	h.b = append(h.b, hdrLine...)
	if status != "" {
		h.b = append(h.b, ' ')
		h.b = append(h.b, status...)
	}
	h.b = append(h.b, '\r', '\n')
	return h
}

func (h *headerBuilder) add(k, v string) *headerBuilder {
	h.b = append(h.b, k...)
	h.b = append(h.b, ": "...)
	h.b = append(h.b, v...)
	h.b = append(h.b, '\r', '\n')
	return h
}

func (h *headerBuilder) addUint(k string, v uint64) *headerBuilder {
	h.b = append(h.b, k...)
	h.b = append(h.b, ": "...)
	h.b = strconv.AppendUint(h.b, v, 10)
	h.b = append(h.b, '\r', '\n')
	return h
}

func (h *headerBuilder) bytes() []byte { return append(h.b, '\r', '\n') }

// mergeHeaders appends the key/value lines of extra (a header block built
// by newHeader without its final CRLF) to an existing block orig, keeping
// orig's status line.
func appendHeaders(orig []byte, kv ...string) []byte {
	var out []byte
	if len(orig) == 0 {
		out = append(out, hdrLine...)
		out = append(out, '\r', '\n')
	} else {
		// Drop orig's terminating blank line.
		o := bytes.TrimRight(orig, "\r\n")
		out = append(out, o...)
		out = append(out, '\r', '\n')
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, kv[i]...)
		out = append(out, ": "...)
		out = append(out, kv[i+1]...)
		out = append(out, '\r', '\n')
	}
	return append(out, '\r', '\n')
}

// removeHeaders returns hdr without the lines whose key is in keys; nil if
// nothing but the status line is left.
func removeHeaders(hdr []byte, keys ...string) []byte {
	if len(hdr) == 0 {
		return nil
	}
	lines := bytes.Split(bytes.TrimRight(hdr, "\r\n"), []byte("\r\n"))
	out := make([]byte, 0, len(hdr))
	out = append(out, lines[0]...)
	out = append(out, '\r', '\n')
	kept := 0
	for _, l := range lines[1:] {
		c := bytes.IndexByte(l, ':')
		drop := false
		if c > 0 {
			for _, k := range keys {
				if strings.EqualFold(string(l[:c]), k) {
					drop = true
					break
				}
			}
		}
		if !drop {
			out = append(out, l...)
			out = append(out, '\r', '\n')
			kept++
		}
	}
	if kept == 0 {
		return nil
	}
	return append(out, '\r', '\n')
}
