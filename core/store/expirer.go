package store

import (
	"context"
	"sync"
	"time"
)

// Expirable is the part of a store an Expirer drives.
type Expirable interface {
	Expire(ctx context.Context, now int64) (ExpireResult, error)
}

// ExpirerOptions tunes an Expirer. Every field is optional.
type ExpirerOptions struct {
	// OnExpire is called from the expirer's goroutine after every Expire
	// that removed messages, e.g. to write subject delete markers.
	OnExpire func(ExpireResult)
	// OnError is called when Expire fails; the expirer retries after
	// RetryAfter.
	OnError func(error)
	// Now is the clock; it defaults to time.Now.
	Now func() time.Time
	// MinInterval is the shortest wait between two runs (default 1 ms), so a
	// backend that keeps reporting a past Next cannot spin the expirer.
	MinInterval time.Duration
	// RetryAfter is the wait after an error (default 1 s).
	RetryAfter time.Duration
}

// Expirer runs a store's Expire on a timer: at start, then whenever the
// earliest expiry the last run reported (ExpireResult.Next) comes due, or an
// earlier time given to Schedule. It is how a user of the contract gets age
// and TTL expiry without writing the timer.
type Expirer struct {
	s    Expirable
	opts ExpirerOptions

	mu       sync.Mutex // guards deadline
	deadline int64      // Unix ns of the next wanted run; 0 none
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

// NewExpirer returns a stopped Expirer for s.
func NewExpirer(s Expirable, opts ExpirerOptions) *Expirer {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = time.Millisecond
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	return &Expirer{s: s, opts: opts, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Start runs Expire at once and then on the timer, until Stop.
func (e *Expirer) Start() {
	e.Schedule(e.opts.Now().UnixNano())
	go e.loop()
}

// Schedule asks for a run no later than at (Unix ns). The runtime calls it
// after storing a message whose expiry may be earlier than any known one (a
// short TTL, or the first message of an empty stream with a max age) and
// after lowering the max age. It is cheap when at is not earlier.
func (e *Expirer) Schedule(at int64) {
	e.mu.Lock()
	if e.deadline != 0 && at >= e.deadline {
		e.mu.Unlock()
		return
	}
	e.deadline = at
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Stop ends the timer and waits for a running Expire to return.
func (e *Expirer) Stop() {
	e.once.Do(func() { close(e.stop) })
	<-e.done
}

func (e *Expirer) loop() {
	defer close(e.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-e.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var timer *time.Timer
	for {
		e.mu.Lock()
		d := e.deadline
		e.mu.Unlock()
		var fire <-chan time.Time
		if d != 0 {
			wait := max(time.Duration(d-e.opts.Now().UnixNano()), e.opts.MinInterval)
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			fire = timer.C
		}
		select {
		case <-e.stop:
			return
		case <-e.wake:
			if timer != nil {
				timer.Stop()
			}
			continue
		case <-fire:
		}
		e.run(ctx)
	}
}

func (e *Expirer) run(ctx context.Context) {
	e.mu.Lock()
	e.deadline = 0
	e.mu.Unlock()
	res, err := e.s.Expire(ctx, e.opts.Now().UnixNano())
	next := res.Next
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if e.opts.OnError != nil {
			e.opts.OnError(err)
		}
		next = e.opts.Now().Add(e.opts.RetryAfter).UnixNano()
	} else if res.Msgs > 0 && e.opts.OnExpire != nil {
		e.opts.OnExpire(res)
	}
	if next != 0 {
		e.mu.Lock()
		if e.deadline == 0 || next < e.deadline {
			e.deadline = next
		}
		e.mu.Unlock()
	}
}
