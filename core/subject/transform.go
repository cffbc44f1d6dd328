package subject

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// ErrBadTransform is returned for an invalid subject transform.
var ErrBadTransform = errors.New("invalid subject transform")

// Transform rewrites subjects matching Src into Dest. Dest may refer to the
// tokens matched by Src's wildcards with $N or {{wildcard(N)}} (1-based,
// counting `*` tokens), may end in `>` when Src does (the rest is carried
// over), and may use {{partition(n,i,...)}} to bucket by the hash of the
// referenced wildcards.
type Transform struct {
	src, dest string
	srcToks   []string
	parts     []destPart
	fwc       bool
}

type destPart struct {
	literal string
	wc      int   // wildcard reference, 1-based
	part    int   // partition count, with wcs
	wcs     []int // partition inputs
	fwc     bool  // the trailing `>`
}

// NewTransform validates and compiles a transform.
func NewTransform(src, dest string) (*Transform, error) {
	if src == "" {
		src = ">"
	}
	if !Valid(src) {
		return nil, fmt.Errorf("%w: invalid source subject %q", ErrBadTransform, src)
	}
	t := &Transform{src: src, dest: dest, srcToks: Tokenize(src)}
	nwc := 0
	for _, tok := range t.srcToks {
		if tok == "*" {
			nwc++
		}
	}
	t.fwc = t.srcToks[len(t.srcToks)-1] == ">"
	if dest == "" {
		return t, nil
	}
	for i, tok := range splitDest(dest) {
		p, err := parseDestToken(tok, nwc)
		if err != nil {
			return nil, err
		}
		if p.fwc {
			if !t.fwc || i != len(splitDest(dest))-1 {
				return nil, fmt.Errorf("%w: '>' in destination needs '>' at the end of the source", ErrBadTransform)
			}
		}
		t.parts = append(t.parts, p)
	}
	return t, nil
}

// splitDest splits on dots outside {{ }}.
func splitDest(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "{{"):
			depth++
			i++
		case strings.HasPrefix(s[i:], "}}"):
			depth--
			i++
		case s[i] == '.' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func parseDestToken(tok string, nwc int) (destPart, error) {
	if tok == "" {
		return destPart{}, fmt.Errorf("%w: empty token in destination", ErrBadTransform)
	}
	if tok == ">" {
		return destPart{fwc: true}, nil
	}
	if tok == "*" {
		return destPart{}, fmt.Errorf("%w: wildcard in destination", ErrBadTransform)
	}
	ref := func(s string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > nwc {
			return 0, fmt.Errorf("%w: wildcard index %q out of range", ErrBadTransform, s)
		}
		return n, nil
	}
	if strings.HasPrefix(tok, "$") {
		n, err := ref(tok[1:])
		return destPart{wc: n}, err
	}
	if strings.HasPrefix(tok, "{{") && strings.HasSuffix(tok, "}}") {
		fn := strings.TrimSpace(tok[2 : len(tok)-2])
		open := strings.IndexByte(fn, '(')
		if open < 0 || !strings.HasSuffix(fn, ")") {
			return destPart{}, fmt.Errorf("%w: bad function %q", ErrBadTransform, fn)
		}
		name := strings.ToLower(strings.TrimSpace(fn[:open]))
		args := strings.Split(fn[open+1:len(fn)-1], ",")
		switch name {
		case "wildcard":
			if len(args) != 1 {
				return destPart{}, fmt.Errorf("%w: wildcard takes one argument", ErrBadTransform)
			}
			n, err := ref(args[0])
			return destPart{wc: n}, err
		case "partition":
			if len(args) < 1 {
				return destPart{}, fmt.Errorf("%w: partition needs a count", ErrBadTransform)
			}
			n, err := strconv.Atoi(strings.TrimSpace(args[0]))
			if err != nil || n < 1 {
				return destPart{}, fmt.Errorf("%w: bad partition count", ErrBadTransform)
			}
			p := destPart{part: n}
			for _, a := range args[1:] {
				w, err := ref(a)
				if err != nil {
					return destPart{}, err
				}
				p.wcs = append(p.wcs, w)
			}
			return p, nil
		}
		return destPart{}, fmt.Errorf("%w: function %q not supported", ErrBadTransform, name)
	}
	if strings.ContainsAny(tok, " \t") {
		return destPart{}, fmt.Errorf("%w: invalid destination", ErrBadTransform)
	}
	return destPart{literal: tok}, nil
}

// Source returns the transform's source filter.
func (t *Transform) Source() string { return t.src }

// Match reports whether subj is in the transform's source.
func (t *Transform) Match(subj string) bool { return Match(subj, t.src) }

// Apply rewrites subj. A subject outside the source is returned unchanged
// with ok false. An empty destination keeps subjects as they are.
func (t *Transform) Apply(subj string) (string, bool) {
	if !Match(subj, t.src) {
		return subj, false
	}
	if len(t.parts) == 0 {
		return subj, true
	}
	toks := Tokenize(subj)
	var wcs []string
	for i, st := range t.srcToks {
		if st == "*" {
			wcs = append(wcs, toks[i])
		}
	}
	var rest []string
	if t.fwc {
		rest = toks[len(t.srcToks)-1:]
	}
	var b strings.Builder
	for i, p := range t.parts {
		if i > 0 {
			b.WriteByte('.')
		}
		switch {
		case p.fwc:
			b.WriteString(strings.Join(rest, "."))
		case p.wc > 0:
			b.WriteString(wcs[p.wc-1])
		case p.part > 0:
			h := fnv.New32a()
			if len(p.wcs) == 0 {
				h.Write([]byte(subj))
			}
			for _, w := range p.wcs {
				h.Write([]byte(wcs[w-1]))
			}
			b.WriteString(strconv.Itoa(int(h.Sum32() % uint32(p.part))))
		default:
			b.WriteString(p.literal)
		}
	}
	return b.String(), true
}
