package subject

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// ErrBadTransform marks an invalid transform destination.
var ErrBadTransform = errors.New("invalid subject transform")

// Transform rewrites subjects that match a source pattern into a
// destination pattern. The destination refers to the source's `*` tokens by
// position ($1, {{wildcard(1)}}, or a bare `*` meaning "the next one") and
// may end in `>` to carry the tail matched by the source's `>`.
type Transform struct {
	src   string
	nsrc  int   // tokens in src
	pwcs  []int // token index of each `*` in src
	fwc   bool  // src ends in `>`
	parts [][]piece
	tail  bool // destination ends in `>`
	// identity keeps subjects as they are (an empty destination).
	identity bool
}

// piece is a literal string, the value of wildcard ref (ref > 0), or a
// partition number (part > 0) computed from the wildcards in refs.
type piece struct {
	lit  string
	ref  int
	part int
	refs []int
}

// NewTransform compiles src → dst. Both must be valid subjects; dst may
// use only as many wildcards as src has.
func NewTransform(src, dst string) (*Transform, error) {
	if !Valid(src) {
		return nil, fmt.Errorf("invalid mapping source %q", src)
	}
	t := &Transform{src: src}
	stoks := strings.Split(src, ".")
	t.nsrc = len(stoks)
	for i, tok := range stoks {
		switch tok {
		case "*":
			t.pwcs = append(t.pwcs, i)
		case ">":
			t.fwc = true
		}
	}
	if dst == "" {
		t.identity = true
		return t, nil
	}
	next := 0
	dtoks := strings.Split(dst, ".")
	for i, tok := range dtoks {
		if tok == "" {
			return nil, fmt.Errorf("invalid mapping destination %q", dst)
		}
		if tok == ">" {
			if i != len(dtoks)-1 || !t.fwc {
				return nil, fmt.Errorf("invalid mapping destination %q: %q needs a source ending in %q", dst, ">", ">")
			}
			t.tail = true
			continue
		}
		if tok == "*" {
			next++
			if next > len(t.pwcs) {
				return nil, fmt.Errorf("invalid mapping destination %q: more wildcards than the source %q", dst, src)
			}
			t.parts = append(t.parts, []piece{{ref: next}})
			continue
		}
		ps, err := parseDestToken(tok, len(t.pwcs))
		if err != nil {
			return nil, fmt.Errorf("invalid mapping destination %q: %w", dst, err)
		}
		t.parts = append(t.parts, ps)
	}
	return t, nil
}

// parseDestToken splits one destination token into literal text, $N and
// {{wildcard(N)}} references.
func parseDestToken(tok string, nwc int) ([]piece, error) {
	var out []piece
	ref := func(n int) error {
		if n < 1 || n > nwc {
			return fmt.Errorf("wildcard index %d out of range (source has %d)", n, nwc)
		}
		out = append(out, piece{ref: n})
		return nil
	}
	for len(tok) > 0 {
		switch {
		case strings.HasPrefix(tok, "{{"):
			end := strings.Index(tok, "}}")
			if end < 0 {
				return nil, fmt.Errorf("unterminated %q", "{{")
			}
			fn := strings.ReplaceAll(tok[2:end], " ", "")
			tok = tok[end+2:]
			low := strings.ToLower(fn)
			if strings.HasPrefix(low, "partition(") && strings.HasSuffix(low, ")") {
				p, err := parsePartition(fn[len("partition("):len(fn)-1], nwc)
				if err != nil {
					return nil, err
				}
				out = append(out, p)
				continue
			}
			if !strings.HasPrefix(low, "wildcard(") || !strings.HasSuffix(low, ")") {
				return nil, fmt.Errorf("unsupported mapping function %q", fn)
			}
			n, err := strconv.Atoi(fn[len("wildcard(") : len(fn)-1])
			if err != nil {
				return nil, fmt.Errorf("bad wildcard index in %q", fn)
			}
			if err := ref(n); err != nil {
				return nil, err
			}
		case tok[0] == '$' && len(tok) > 1 && tok[1] >= '0' && tok[1] <= '9':
			j := 1
			for j < len(tok) && tok[j] >= '0' && tok[j] <= '9' {
				j++
			}
			n, _ := strconv.Atoi(tok[1:j])
			if err := ref(n); err != nil {
				return nil, err
			}
			tok = tok[j:]
		default:
			j := 1
			for j < len(tok) && !strings.HasPrefix(tok[j:], "{{") && !(tok[j] == '$' && j+1 < len(tok) && tok[j+1] >= '0' && tok[j+1] <= '9') {
				j++
			}
			out = append(out, piece{lit: tok[:j]})
			tok = tok[j:]
		}
	}
	return out, nil
}

// Apply returns the mapped subject, or false when subj does not match the
// source. subj must be literal.
func (t *Transform) Apply(subj string) (string, bool) {
	if !Match(subj, t.src) {
		return subj, false
	}
	if t.identity {
		return subj, true
	}
	var buf [16]string
	toks := buf[:0]
	rest := subj
	for i := 0; ; i++ {
		if t.fwc && i == t.nsrc-1 {
			toks = append(toks, rest)
			break
		}
		j := strings.IndexByte(rest, '.')
		if j < 0 {
			toks = append(toks, rest)
			break
		}
		toks = append(toks, rest[:j])
		rest = rest[j+1:]
	}
	var b strings.Builder
	b.Grow(len(subj) + 16)
	for i, ps := range t.parts {
		if i > 0 {
			b.WriteByte('.')
		}
		for _, p := range ps {
			switch {
			case p.ref > 0:
				b.WriteString(toks[t.pwcs[p.ref-1]])
			case p.part > 0:
				h := fnv.New32a()
				if len(p.refs) == 0 {
					h.Write([]byte(subj))
				}
				for _, r := range p.refs {
					h.Write([]byte(toks[t.pwcs[r-1]]))
				}
				b.WriteString(strconv.Itoa(int(h.Sum32() % uint32(p.part))))
			default:
				b.WriteString(p.lit)
			}
		}
	}
	if t.tail {
		if len(t.parts) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(toks[len(toks)-1])
	}
	return b.String(), true
}

// parsePartition parses "n, i, j..." of {{partition(n, i, j...)}}: n
// buckets from the hash of wildcards i, j... (of the whole subject when
// none are named).
func parsePartition(args string, nwc int) (piece, error) {
	fields := strings.Split(args, ",")
	n, err := strconv.Atoi(strings.TrimSpace(fields[0]))
	if err != nil || n < 1 {
		return piece{}, fmt.Errorf("%w: bad partition count %q", ErrBadTransform, fields[0])
	}
	p := piece{part: n}
	for _, f := range fields[1:] {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r < 1 || r > nwc {
			return piece{}, fmt.Errorf("%w: partition wildcard %q out of range", ErrBadTransform, f)
		}
		p.refs = append(p.refs, r)
	}
	return p, nil
}

// Source returns the transform's source filter.
func (t *Transform) Source() string { return t.src }

// Match reports whether subj is in the transform's source.
func (t *Transform) Match(subj string) bool { return Match(subj, t.src) }
