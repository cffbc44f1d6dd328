package jserr

import (
	"errors"
	"fmt"
	"strings"
)

// ErrCode is the JetStream err_code.
type ErrCode uint16

// APIError is the `error` object of a JetStream API reply.
type APIError struct {
	Code        int     `json:"code"`
	ErrCode     ErrCode `json:"err_code,omitempty"`
	Description string  `json:"description,omitempty"`
}

// Error returns the description with the err_code, as clients print it.
func (e *APIError) Error() string {
	return fmt.Sprintf("%s (%d)", e.Description, e.ErrCode)
}

// Is matches another *APIError with the same err_code, so errors.Is works
// with the template values of New*Error constructors.
func (e *APIError) Is(target error) bool {
	var t *APIError
	if !errors.As(target, &t) {
		return false
	}
	return t.ErrCode == e.ErrCode
}

// IsCode reports whether err is (or wraps) an APIError with code.
func IsCode(err error, code ErrCode) bool {
	var e *APIError
	return errors.As(err, &e) && e.ErrCode == code
}

// From returns err as an *APIError: itself when it is one, else wrapped in
// the generic fallback (code 500, err_code 10051, the error text).
func From(err error) *APIError {
	if err == nil {
		return nil
	}
	var e *APIError
	if errors.As(err, &e) {
		return e
	}
	return NewStreamGeneralErrorError(err)
}

// fill replaces {name} placeholders in tmpl with values, in order.
func fill(tmpl string, names []string, vals []any) string {
	for i, n := range names {
		v := vals[i]
		var s string
		switch x := v.(type) {
		case error:
			s = x.Error()
		case nil:
			s = ""
		default:
			s = fmt.Sprint(x)
		}
		tmpl = strings.ReplaceAll(tmpl, "{"+n+"}", s)
	}
	return tmpl
}
