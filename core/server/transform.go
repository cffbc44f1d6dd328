package server

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/hangar-mq/hangar/core/subject"
)

// transform rewrites subjects that match a source pattern into a
// destination pattern. The destination refers to the source's `*` tokens by
// position ($1, {{wildcard(1)}}, or a bare `*` meaning "the next one") and
// may end in `>` to carry the tail matched by the source's `>`.
type transform struct {
	src   string
	nsrc  int   // tokens in src
	pwcs  []int // token index of each `*` in src
	fwc   bool  // src ends in `>`
	parts [][]piece
	tail  bool // destination ends in `>`
}

// piece is a literal string or, when ref > 0, the value of wildcard ref.
type piece struct {
	lit string
	ref int
}

// newTransform compiles src → dst. Both must be valid subjects; dst may
// use only as many wildcards as src has.
func newTransform(src, dst string) (*transform, error) {
	if !subject.Valid(src) {
		return nil, fmt.Errorf("invalid mapping source %q", src)
	}
	t := &transform{src: src}
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
		return nil, fmt.Errorf("empty mapping destination for %q", src)
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

// ValidateMapping checks that dst is a destination src can map to, for
// configuration loaders to report with the setting's position.
func ValidateMapping(src, dst string) error {
	_, err := newTransform(src, dst)
	return err
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

// apply returns the mapped subject, or false when subj does not match the
// source. subj must be literal.
func (t *transform) apply(subj string) (string, bool) {
	if !subject.Match(subj, t.src) {
		return "", false
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
			if p.ref > 0 {
				b.WriteString(toks[t.pwcs[p.ref-1]])
			} else {
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

// mapping is one compiled MappingConfig.
type mapping struct {
	src   string
	dests []weightedDest
	total int
}

type weightedDest struct {
	tr     *transform
	dst    string
	weight int
}

// mappings are an account's subject mappings: literal sources by map
// lookup, wildcard sources in order.
type mappings struct {
	literal map[string]*mapping
	wild    []*mapping
}

func compileMappings(cfg []*MappingConfig) (*mappings, error) {
	if len(cfg) == 0 {
		return nil, nil
	}
	ms := &mappings{literal: make(map[string]*mapping)}
	for _, mc := range cfg {
		m := &mapping{src: mc.Source}
		for _, d := range mc.Destinations {
			tr, err := newTransform(mc.Source, d.Subject)
			if err != nil {
				return nil, err
			}
			w := int(d.Weight)
			if w == 0 && len(mc.Destinations) == 1 {
				w = 100
			}
			if w > 100 {
				return nil, fmt.Errorf("mapping %q: weight %d above 100%%", mc.Source, w)
			}
			m.dests = append(m.dests, weightedDest{tr: tr, dst: d.Subject, weight: w})
			m.total += w
		}
		if len(m.dests) == 0 {
			return nil, fmt.Errorf("mapping %q has no destination", mc.Source)
		}
		if m.total > 100 {
			return nil, fmt.Errorf("mapping %q: weights add up to %d%%, above 100%%", mc.Source, m.total)
		}
		if subject.HasWildcard(mc.Source) {
			ms.wild = append(ms.wild, m)
		} else {
			ms.literal[mc.Source] = m
		}
	}
	return ms, nil
}

// all returns every mapping, literal sources first.
func (ms *mappings) all() []*mapping {
	out := make([]*mapping, 0, len(ms.literal)+len(ms.wild))
	for _, m := range ms.literal {
		out = append(out, m)
	}
	return append(out, ms.wild...)
}

// apply maps subj, reporting whether it changed.
func (ms *mappings) apply(subj string) (string, bool) {
	m := ms.literal[subj]
	if m == nil {
		for _, w := range ms.wild {
			if subject.Match(subj, w.src) {
				m = w
				break
			}
		}
		if m == nil {
			return subj, false
		}
	}
	d := &m.dests[0]
	if len(m.dests) > 1 || m.total < 100 {
		r := rand.IntN(100)
		d = nil
		for i := range m.dests {
			if r < m.dests[i].weight {
				d = &m.dests[i]
				break
			}
			r -= m.dests[i].weight
		}
		if d == nil {
			return subj, false
		}
	}
	out, ok := d.tr.apply(subj)
	if !ok {
		return subj, false
	}
	return out, true
}
