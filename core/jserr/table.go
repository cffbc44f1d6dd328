package jserr

// Lookup returns the error registered under code with its description
// template unfilled.
func Lookup(code ErrCode) (*APIError, bool) {
	e, ok := table[code]
	if !ok {
		return nil, false
	}
	return &e, true
}
