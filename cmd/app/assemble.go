package app

import (
	"github.com/hangar-mq/hangar/core/jetstream"
	"github.com/hangar-mq/hangar/core/server"

	// The built-in modules register themselves.
	_ "github.com/hangar-mq/hangar/api-handlers/all"
	_ "github.com/hangar-mq/hangar/core/store/mem"
)

// NewServer creates a server from opts with every built-in module wired
// in: the JetStream runtime, its API families and the storage backends.
// Tests use it to run the same server the binary runs.
func NewServer(o *server.Options, l server.Logger) (*server.Server, error) {
	s, err := server.New(o)
	if err != nil {
		return nil, err
	}
	s.SetLogger(l)
	if o.JetStream {
		s.AddExtension(jetstream.New(jetstream.ConfigFromOptions(s.Options())))
	}
	return s, nil
}
