package subject

import "strings"

const (
	// Sep separates tokens in a subject.
	Sep = '.'
	// PWC is the partial wildcard: it matches exactly one token.
	PWC = '*'
	// FWC is the full wildcard: it matches one or more trailing tokens.
	FWC = '>'
)

// ValidLiteral reports whether s is a valid publish subject: non-empty
// tokens, no whitespace and no wildcard tokens.
func ValidLiteral(s string) bool {
	return valid(s, false)
}

// Valid reports whether s is a valid subscription subject or filter:
// non-empty tokens, no whitespace, `*` only as a whole token and `>` only as
// the last whole token.
func Valid(s string) bool {
	return valid(s, true)
}

func valid(s string, wildcards bool) bool {
	if len(s) == 0 {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			c := s[i]
			switch c {
			case ' ', '\t', '\r', '\n', '\f', '\v':
				return false
			case Sep:
			default:
				continue
			}
		}
		tok := s[start:i]
		if len(tok) == 0 {
			return false
		}
		if len(tok) == 1 {
			switch tok[0] {
			case PWC:
				if !wildcards {
					return false
				}
			case FWC:
				if !wildcards || i != len(s) {
					return false
				}
			}
		}
		start = i + 1
	}
	return true
}

// HasWildcard reports whether s contains a `*` or `>` token.
func HasWildcard(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != PWC && c != FWC {
			continue
		}
		if (i == 0 || s[i-1] == Sep) && (i+1 == len(s) || s[i+1] == Sep) {
			return true
		}
	}
	return false
}

// IsLiteral reports whether s has no wildcard tokens.
func IsLiteral(s string) bool { return !HasWildcard(s) }

// Match reports whether the literal subject matches filter, which may hold
// wildcards. An empty filter or ">" matches every subject.
func Match(literal, filter string) bool {
	if filter == "" || filter == ">" {
		return true
	}
	li, fi := 0, 0
	for {
		lt, lnext := nextToken(literal, li)
		ft, fnext := nextToken(filter, fi)
		switch {
		case ft == ">" && fi >= 0:
			return li >= 0 && lt != ""
		case li < 0 && fi < 0:
			return true
		case li < 0 || fi < 0:
			return false
		case ft == "*":
		case ft != lt:
			return false
		}
		li, fi = lnext, fnext
	}
}

// nextToken returns the token starting at i and the index of the next one,
// or -1 when i is past the end.
func nextToken(s string, i int) (tok string, next int) {
	if i < 0 || i > len(s) {
		return "", -1
	}
	if i == len(s) {
		// A subject never ends in a separator, so i==len(s) means exhausted.
		return "", -1
	}
	j := strings.IndexByte(s[i:], Sep)
	if j < 0 {
		return s[i:], len(s) + 1
	}
	return s[i : i+j], i + j + 1
}

// SubsetOf reports whether every subject matched by sub is also matched by
// super. Both may contain wildcards.
func SubsetOf(sub, super string) bool {
	if super == ">" || super == "" {
		return true
	}
	st := Tokenize(sub)
	pt := Tokenize(super)
	for i, p := range pt {
		if i >= len(st) {
			return false
		}
		s := st[i]
		switch {
		case p == ">":
			return true
		case s == ">":
			return false
		case p == "*":
		case s == "*" || s != p:
			return false
		}
	}
	return len(st) == len(pt)
}

// Overlap reports whether some literal subject is matched by both a and b.
func Overlap(a, b string) bool {
	at := Tokenize(a)
	bt := Tokenize(b)
	for i := 0; ; i++ {
		if i >= len(at) || i >= len(bt) {
			return len(at) == len(bt)
		}
		x, y := at[i], bt[i]
		if x == ">" || y == ">" {
			return true
		}
		if x != y && x != "*" && y != "*" {
			return false
		}
	}
}

// Tokenize splits s on the token separator.
func Tokenize(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ".")
}

// NumTokens returns the number of tokens in s.
func NumTokens(s string) int {
	if s == "" {
		return 0
	}
	return strings.Count(s, ".") + 1
}

// TokenAt returns the 1-based token at index n, or "" if out of range.
func TokenAt(s string, n int) string {
	if n < 1 {
		return ""
	}
	for i := 1; ; i++ {
		j := strings.IndexByte(s, Sep)
		if i == n {
			if j < 0 {
				return s
			}
			return s[:j]
		}
		if j < 0 {
			return ""
		}
		s = s[j+1:]
	}
}
