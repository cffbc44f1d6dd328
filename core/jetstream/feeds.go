package jetstream

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
)

// A feed follows another stream on this server: the mirror of a stream, or
// one of its sources. It reads the origin's store directly (both streams
// live in this process), catches up from its start point, then waits for
// the origin to signal new messages.
type feed struct {
	s      *Stream
	src    jsapi.StreamSource
	mirror bool
	key    string

	filters    []string
	transforms []*subject.Transform

	cancel context.CancelFunc
	done   chan struct{}

	last   atomic.Uint64 // last origin sequence brought in
	lag    atomic.Uint64
	active atomic.Int64 // Unix ns of the last message
	errMu  sync.Mutex
	err    *jserr.APIError
}

type feedSet struct {
	mu    sync.Mutex
	feeds []*feed
}

func sameSources(a, b *jsapi.StreamConfig) bool {
	return reflect.DeepEqual(a.Mirror, b.Mirror) && reflect.DeepEqual(a.Sources, b.Sources)
}

// startFeeds starts the mirror or source feeds of the stream.
func (s *Stream) startFeeds() {
	cfg := s.config()
	fs := &feedSet{}
	if cfg.Mirror != nil {
		fs.feeds = append(fs.feeds, s.newFeed(*cfg.Mirror, true))
	}
	for _, src := range cfg.Sources {
		if src != nil {
			fs.feeds = append(fs.feeds, s.newFeed(*src, false))
		}
	}
	s.mu.Lock()
	s.feeds = fs
	s.mu.Unlock()
	for _, f := range fs.feeds {
		ctx, cancel := context.WithCancel(s.rt.ctx)
		f.cancel = cancel
		go f.run(ctx)
	}
}

func (s *Stream) stopFeeds() {
	s.mu.Lock()
	fs := s.feeds
	s.feeds = nil
	s.mu.Unlock()
	if fs == nil {
		return
	}
	for _, f := range fs.feeds {
		f.cancel()
	}
	for _, f := range fs.feeds {
		<-f.done
	}
}

func (s *Stream) newFeed(src jsapi.StreamSource, mirror bool) *feed {
	f := &feed{s: s, src: src, mirror: mirror, key: sourceKey(&src), done: make(chan struct{})}
	if src.FilterSubject != "" {
		f.filters = []string{src.FilterSubject}
	}
	for _, t := range src.SubjectTransforms {
		f.filters = append(f.filters, orAll(t.Source))
		if t.Destination != "" {
			tr, err := subject.NewTransform(orAll(t.Source), t.Destination)
			if err == nil {
				f.transforms = append(f.transforms, tr)
				continue
			}
		}
		f.transforms = append(f.transforms, nil)
	}
	if store.MatchesAll(f.filters) {
		f.filters = nil
	}
	return f
}

func (f *feed) setErr(e *jserr.APIError) {
	f.errMu.Lock()
	f.err = e
	f.errMu.Unlock()
}

// origin resolves the stream the feed follows. Only streams of this
// account (or reached through this server's own domain prefix) are
// followable here.
func (f *feed) origin() (*Stream, error) {
	if ext := f.src.External; ext != nil && ext.APIPrefix != "" {
		own := jsapi.APIPrefix[:len(jsapi.APIPrefix)-1]
		if d := f.s.rt.cfg.Domain; d != "" && ext.APIPrefix == "$JS."+d+".API" {
			own = ext.APIPrefix
		}
		if ext.APIPrefix != own {
			return nil, fmt.Errorf("external stream %q via %q is not reachable from this server", f.src.Name, ext.APIPrefix)
		}
	}
	o := f.s.ja.lookupStream(f.src.Name)
	if o == nil {
		return nil, jserr.NewStreamNotFoundError()
	}
	return o, nil
}

func (f *feed) run(ctx context.Context) {
	defer close(f.done)
	var o *Stream
	next := uint64(0)
	for ctx.Err() == nil {
		if o == nil || o.isClosed() {
			var err error
			if o, err = f.origin(); err != nil {
				f.setErr(jserr.From(err))
				if !sleepCtx(ctx, time.Second) {
					return
				}
				continue
			}
			f.setErr(nil)
			if next, err = f.startSeq(ctx, o); err != nil {
				f.setErr(jserr.From(err))
				o = nil
				if !sleepCtx(ctx, time.Second) {
					return
				}
				continue
			}
		}
		wait := o.waitChan()
		msgs, err := o.st.LoadRange(ctx, store.RangeRequest{Start: next, Filters: f.filters, MaxMsgs: 256, MaxBytes: 8 << 20})
		if err != nil && !errors.Is(err, store.ErrEOF) {
			if store.IsMissing(err) {
				// The origin lost messages below us (purge): move on.
				if st, serr := o.st.FastState(ctx); serr == nil && st.FirstSeq > next {
					next = st.FirstSeq
					continue
				}
			}
			f.setErr(jserr.From(err))
			if !sleepCtx(ctx, time.Second) {
				return
			}
			continue
		}
		if st, serr := o.st.FastState(ctx); serr == nil && st.LastSeq >= next {
			f.lag.Store(st.LastSeq - next + 1 - uint64(len(msgs)))
		}
		if len(msgs) == 0 {
			f.lag.Store(0)
			select {
			case <-wait:
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		if err := f.apply(ctx, msgs); err != nil {
			if ctx.Err() != nil {
				return
			}
			f.setErr(jserr.From(err))
			if !sleepCtx(ctx, time.Second) {
				return
			}
			continue
		}
		next = msgs[len(msgs)-1].Seq + 1
		f.last.Store(next - 1)
		f.active.Store(time.Now().UnixNano())
	}
}

// startSeq finds where to resume: after what this stream already holds
// from the origin, else the configured start.
func (f *feed) startSeq(ctx context.Context, o *Stream) (uint64, error) {
	if f.mirror {
		st, err := f.s.st.FastState(ctx)
		if err != nil {
			return 0, err
		}
		if st.LastSeq > 0 {
			return st.LastSeq + 1, nil
		}
	} else if last := f.lastSourced(ctx); last > 0 {
		return last + 1, nil
	}
	switch {
	case f.src.OptStartSeq > 0:
		return f.src.OptStartSeq, nil
	case f.src.OptStartTime != nil:
		return o.st.SeqFromTime(ctx, f.src.OptStartTime.UnixNano())
	}
	return 1, nil
}

// lastSourced scans back for the newest message this source brought in.
func (f *feed) lastSourced(ctx context.Context) uint64 {
	if v := f.last.Load(); v > 0 {
		return v
	}
	st, err := f.s.st.FastState(ctx)
	if err != nil || st.Msgs == 0 {
		return 0
	}
	tag := f.src.Name + " "
	for seq := st.LastSeq; seq >= st.FirstSeq && seq > 0; {
		m, err := f.s.st.LoadPrev(ctx, nil, seq)
		if err != nil {
			return 0
		}
		if v, ok := getHeader(m.Header, hdrStreamSource); ok && strings.HasPrefix(v, tag) {
			parts := strings.Fields(v)
			if len(parts) > 1 {
				if n, err := strconv.ParseUint(parts[1], 10, 64); err == nil {
					return n
				}
			}
		}
		seq = m.Seq - 1
	}
	return 0
}

func (f *feed) transform(subj string) string {
	for _, t := range f.transforms {
		if t == nil {
			continue
		}
		if out, ok := t.Apply(subj); ok {
			return out
		}
	}
	return subj
}

// apply brings a batch of origin messages into the stream through its
// executor and waits until they are stored.
func (f *feed) apply(ctx context.Context, msgs []store.Msg) error {
	s := f.s
	var last *streamOp
	for i := range msgs {
		m := &msgs[i]
		subj := f.transform(m.Subject)
		if f.mirror {
			raw := store.Msg{Subject: subj, Header: cloneBytes(m.Header), Data: cloneBytes(m.Data), Seq: m.Seq, Time: m.Time, TTL: m.TTL}
			last = &streamOp{kind: opStoreRaw, raw: &raw, done: make(chan opResult, 1)}
			if err := s.enqueue(last); err != nil {
				return err
			}
			continue
		}
		tag := fmt.Sprintf("%s %d %s %s %s", f.src.Name, m.Seq, orAll(f.src.FilterSubject), orAll(destOf(f.src)), m.Subject)
		hdr := appendHeaders(removeHeaders(m.Header, hdrStreamSource), hdrStreamSource, tag)
		im := newInMsg(subj, "", hdr, m.Data, nil)
		im.source = true
		im.ttl = m.TTL
		if err := s.enqueue(&streamOp{kind: opPublish, msg: im}); err != nil {
			im.release()
			return err
		}
	}
	if last == nil {
		last = &streamOp{kind: opBarrier, done: make(chan opResult, 1)}
		if err := s.enqueue(last); err != nil {
			return err
		}
	}
	select {
	case r := <-last.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func destOf(src jsapi.StreamSource) string {
	if len(src.SubjectTransforms) == 1 {
		return src.SubjectTransforms[0].Destination
	}
	return ""
}

func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// feedInfo fills mirror and source reports into info.
func (s *Stream) feedInfo(info *jsapi.StreamInfo) {
	s.mu.RLock()
	fs := s.feeds
	s.mu.RUnlock()
	if fs == nil {
		return
	}
	for _, f := range fs.feeds {
		si := &jsapi.StreamSourceInfo{Name: f.src.Name, External: f.src.External, Lag: f.lag.Load(),
			Active: -1, FilterSubject: f.src.FilterSubject, SubjectTransforms: f.src.SubjectTransforms}
		if a := f.active.Load(); a > 0 {
			si.Active = time.Since(time.Unix(0, a))
		}
		f.errMu.Lock()
		if f.err != nil {
			si.Error = &jsapi.APIErrorJSON{Code: f.err.Code, ErrCode: uint16(f.err.ErrCode), Description: f.err.Description}
		}
		f.errMu.Unlock()
		if f.mirror {
			info.Mirror = si
		} else {
			info.Sources = append(info.Sources, si)
		}
	}
}
