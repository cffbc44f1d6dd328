package app

import "github.com/hangar-mq/hangar/core/server"

// NewServer creates a server from opts with every built-in module wired
// in: the JetStream runtime, its API families and the storage backends.
// Tests use it to run the same server the binary runs.
func NewServer(o *server.Options, l server.Logger) (*server.Server, error) {
	s, err := server.New(o)
	if err != nil {
		return nil, err
	}
	s.SetLogger(l)
	return s, nil
}
