package server

import (
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
)

// startProfiler serves pprof on its own port, apart from monitoring, so it
// is never exposed by accident with the monitoring endpoints.
func (s *Server) startProfiler() {
	port := s.opts.ProfPort
	if port < 0 {
		port = 0
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.opts.HTTPHost, strconv.Itoa(port)))
	if err != nil {
		s.Errorf("profiling listen: %v", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux}
	s.Noticef("profiling port: %s", ln.Addr())
	go srv.Serve(ln)
	go func() {
		<-s.done
		srv.Close()
	}()
}
