package plugins

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// exitPoll is how often a supervisor looks whether its process exited:
// cheap (a flag go-plugin sets), and it bounds how long a crash goes
// unnoticed when no call fails first.
const exitPoll = 100 * time.Millisecond

// supervisor keeps one plugin process alive. When the process exits or
// fails a health check it calls onDown, then starts a new one with
// exponential backoff until onUp accepts it.
type supervisor struct {
	what   string // "plugin x" or "plugin x store provider", for logs
	cfg    *Config
	launch func() (*proc, error)
	onDown func(error)
	onUp   func(context.Context, *proc) error

	mu       sync.Mutex // guards cur and stopped
	cur      *proc
	stopped  bool
	poke     chan struct{}
	stopCh   chan struct{}
	done     chan struct{}
	restarts atomic.Int64
	up       atomic.Bool
}

func newSupervisor(what string, cfg *Config, first *proc, launch func() (*proc, error),
	onDown func(error), onUp func(context.Context, *proc) error) *supervisor {
	s := &supervisor{what: what, cfg: cfg, launch: launch, onDown: onDown, onUp: onUp, cur: first,
		poke: make(chan struct{}, 1), stopCh: make(chan struct{}), done: make(chan struct{})}
	s.up.Store(true)
	go s.run()
	return s
}

// check asks for a health check now (a call just failed). It never blocks.
func (s *supervisor) check(error) {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// current returns the running process, or nil while it is down.
func (s *supervisor) current() *proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.up.Load() {
		return nil
	}
	return s.cur
}

// stop ends supervision and kills the process (gracefully first).
func (s *supervisor) stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		<-s.done
		return
	}
	s.stopped = true
	s.mu.Unlock()
	close(s.stopCh)
	<-s.done
	s.mu.Lock()
	p := s.cur
	s.cur = nil
	s.mu.Unlock()
	if p != nil {
		p.kill()
	}
}

func (s *supervisor) run() {
	defer close(s.done)
	exits := time.NewTicker(exitPoll)
	defer exits.Stop()
	health := time.NewTicker(s.cfg.HealthInterval)
	defer health.Stop()
	for {
		s.mu.Lock()
		p := s.cur
		s.mu.Unlock()
		var failure error
		select {
		case <-s.stopCh:
			return
		case <-exits.C:
			if p.exited() {
				failure = errors.New("process exited")
			}
		case <-health.C:
			failure = p.ping(context.Background(), 2*time.Second)
		case <-s.poke:
			if p.exited() {
				failure = errors.New("process exited")
			} else {
				failure = p.ping(context.Background(), time.Second)
			}
		}
		if failure == nil {
			continue
		}
		if !s.recover(p, failure) {
			return
		}
	}
}

// recover replaces a failed process. It returns false when stopped first.
func (s *supervisor) recover(p *proc, failure error) bool {
	s.up.Store(false)
	s.onDown(failure)
	s.cfg.Logger.Warnf("%s is down (%v); restarting", s.what, failure)
	uptime := time.Since(p.started)
	// The old process must be gone before a new one opens the same data:
	// one that is alive but failing its health checks may still write.
	p.kill()
	backoff := s.cfg.RestartMin
	if uptime < time.Minute {
		// It died young: maybe it crashes at once. Start slower the more
		// restarts pile up, but never beyond the maximum.
		backoff = min(s.cfg.RestartMin<<min(s.restarts.Load(), 10), s.cfg.RestartMax)
	}
	for attempt := 1; ; attempt++ {
		select {
		case <-s.stopCh:
			return false
		case <-time.After(backoff):
		}
		np, err := s.launch()
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.StartTimeout)
			err = s.onUp(ctx, np)
			cancel()
			if err != nil {
				np.kill()
			}
		}
		if err != nil {
			s.cfg.Logger.Errorf("%s: restart attempt %d failed: %v", s.what, attempt, err)
			backoff = min(backoff*2, s.cfg.RestartMax)
			continue
		}
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			np.kill()
			return false
		}
		s.cur = np
		s.mu.Unlock()
		s.restarts.Add(1)
		s.up.Store(true)
		s.cfg.Logger.Noticef("%s restarted (attempt %d)", s.what, attempt)
		// Drain a poke from calls that failed while it was down.
		select {
		case <-s.poke:
		default:
		}
		return true
	}
}

// state describes the supervisor for listings.
func (s *supervisor) state() string {
	st := "running"
	if !s.up.Load() {
		st = "restarting"
	}
	if n := s.restarts.Load(); n > 0 {
		st += fmt.Sprintf(" (%d restarts)", n)
	}
	return st
}
