package server

import "encoding/base64"

// decodeSig accepts the raw-URL base64 the clients send, and padded or
// standard forms from older ones.
func decodeSig(sig string) ([]byte, error) {
	if b, err := base64.RawURLEncoding.DecodeString(sig); err == nil {
		return b, nil
	}
	if b, err := base64.URLEncoding.DecodeString(sig); err == nil {
		return b, nil
	}
	return base64.StdEncoding.DecodeString(sig)
}
