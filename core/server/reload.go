package server

import "errors"

// ErrReloadUnsupported is returned when no config file backs the server.
var ErrReloadUnsupported = errors.New("server: reload needs a configuration file")

// SetReloader installs the function that re-reads options on SIGHUP.
func (s *Server) SetReloader(f func() (*Options, error)) {
	s.mu.Lock()
	s.reload = f
	s.mu.Unlock()
}

// Reload re-reads the configuration and applies what can change live.
func (s *Server) Reload() error {
	s.mu.Lock()
	f := s.reload
	s.mu.Unlock()
	if f == nil {
		return ErrReloadUnsupported
	}
	o, err := f()
	if err != nil {
		return err
	}
	return s.ApplyReload(o)
}

// ApplyReload applies new options: logging levels for now; auth and
// permissions are added by the accounts work.
func (s *Server) ApplyReload(o *Options) error {
	if l, ok := s.log.(interface{ SetLevels(bool, bool) }); ok {
		l.SetLevels(o.Debug, o.Trace)
	}
	s.Noticef("Reloaded server configuration")
	return nil
}
