package store

import (
	"fmt"

	"github.com/hangar-mq/hangar/core/subject"
)

// MatchAny reports whether the literal subj matches any of filters; no
// filters, or an empty or ">" filter, match everything.
func MatchAny(subj string, filters []string) bool {
	if len(filters) == 0 {
		return true
	}
	for _, f := range filters {
		if subject.Match(subj, f) {
			return true
		}
	}
	return false
}

// MatchesAll reports whether filters select every subject.
func MatchesAll(filters []string) bool {
	if len(filters) == 0 {
		return true
	}
	for _, f := range filters {
		if f == "" || f == ">" {
			return true
		}
	}
	return false
}

// ValidateFilters returns ErrInvalid for a filter that is not a valid
// subject; empty filters are allowed and match all.
func ValidateFilters(filters []string) error {
	for _, f := range filters {
		if f != "" && !subject.Valid(f) {
			return fmt.Errorf("%w: filter %q", ErrInvalid, f)
		}
	}
	return nil
}
