package jetstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
	"github.com/klauspost/compress/s2"
)

// Snapshot transfer parameters, as the reference bounds them.
const (
	defaultSnapChunk  = 128 * 1024
	minSnapChunk      = 1024
	maxSnapChunk      = 1024 * 1024
	defaultSnapWindow = 8 * 1024 * 1024
	minSnapWindow     = 1024
	maxSnapWindow     = 32 * 1024 * 1024
	snapFlowTimeout   = 5 * time.Second
	restoreIdle       = 30 * time.Second
)

// The data that crosses the API is the backend-neutral snapshot wrapped in
// an s2 stream: clients (the nats CLI) decompress it with s2 to show
// progress, and store it as is.

// StartSnapshot validates a snapshot request and starts sending chunks to
// its deliver subject; it returns what to answer before the chunks.
func (s *Stream) StartSnapshot(ctx context.Context, req *jsapi.SnapshotRequest, ci *jsapi.ClientInfo) (*jsapi.SnapshotResponse, error) {
	if req.DeliverSubject == "" || !subject.ValidLiteral(req.DeliverSubject) {
		return nil, jserr.NewSnapshotDeliverSubjectInvalidError()
	}
	chunk := req.ChunkSize
	if chunk == 0 {
		chunk = defaultSnapChunk
	}
	chunk = min(max(chunk, minSnapChunk), maxSnapChunk)
	window := req.WindowSize
	if window == 0 {
		window = defaultSnapWindow
	}
	window = min(max(window, minSnapWindow), maxSnapWindow)
	st, err := s.st.FastState(ctx)
	if err != nil {
		return nil, jserr.NewStreamSnapshotError(err)
	}
	cfg := s.reportedConfig(s.config())
	state := apiState(&st)
	state.Consumers = s.numConsumers()
	go s.sendSnapshot(req.DeliverSubject, req.NoConsumers, chunk, window, ci)
	return &jsapi.SnapshotResponse{Config: &cfg, State: &state}, nil
}

func (s *Stream) sendSnapshot(deliver string, noConsumers bool, chunk, window int, ci *jsapi.ClientInfo) {
	rt := s.rt
	ctx, cancel := context.WithCancel(rt.ctx)
	defer cancel()
	start := time.Now().UTC()
	rt.publishAdvisory(s.acc, jsapi.AdvisoryPrefix+"STREAM.SNAPSHOT_CREATE."+s.name, snapshotAdvisory{
		typedEvent: newEvent(snapCreateType), Stream: s.name, Client: ci, Domain: rt.cfg.Domain})

	pr, pw := io.Pipe()
	go func() {
		zw := s2.NewWriter(pw, s2.WriterConcurrency(1))
		err := s.st.Snapshot(ctx, zw, store.SnapshotOptions{NoConsumers: noConsumers})
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()

	// Flow control: every chunk carries a reply; the client answers each.
	// At most window bytes may be unacknowledged.
	id := newNUID()
	ackSubj := "$JS.SNAPSHOT.ACK." + s.name + "." + id
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	acked, sentBytes := 0, 0
	sizes := map[string]int{}
	sub, err := s.acc.Subscribe(ackSubj+".>", "", func(_ *server.Subscription, _ *server.Client, subj, _ string, _, _ []byte) {
		mu.Lock()
		if n, ok := sizes[subj]; ok {
			acked += n
			delete(sizes, subj)
			cond.Broadcast()
		}
		mu.Unlock()
	})
	if err != nil {
		s.acc.Publish(deliver, "", statusHdr("500 "+err.Error()), nil)
		return
	}
	defer s.acc.Unsubscribe(sub)
	fail := func(status string) {
		pr.CloseWithError(errors.New(status))
		s.acc.Publish(deliver, "", statusHdr(status), nil)
	}
	// Clients subscribe to the deliver subject only after they have the
	// snapshot reply, and it usually lies under their request inbox, whose
	// wildcard subscription would swallow early chunks. Wait a moment for
	// a subscription on the subject itself; failing that, any interest.
	for deadline := time.Now().Add(2 * time.Second); !s.exactInterest(deliver); {
		if time.Now().After(deadline) {
			if s.acc.HasInterest(deliver) {
				break
			}
			fail("408 No Interest")
			return
		}
		if !sleepCtx(ctx, 2*time.Millisecond) {
			return
		}
	}
	buf := make([]byte, chunk)
	total := 0
	for idx := 0; ; idx++ {
		n, rerr := io.ReadFull(pr, buf)
		if n > 0 {
			mu.Lock()
			deadline := time.Now().Add(snapFlowTimeout)
			for sentBytes-acked+n > window && time.Now().Before(deadline) {
				waitCond(cond, time.Until(deadline))
			}
			if sentBytes-acked+n > window {
				mu.Unlock()
				fail("408 No Flow Response")
				return
			}
			reply := fmt.Sprintf("%s.%d.%d", ackSubj, n, idx)
			sizes[reply] = n
			sentBytes += n
			mu.Unlock()
			if !s.acc.HasInterest(deliver) {
				fail("408 No Interest")
				return
			}
			s.acc.Publish(deliver, reply, nil, buf[:n])
			total += n
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			fail("500 " + rerr.Error())
			return
		}
	}
	s.acc.Publish(deliver, "", statusHdr("204"), nil)
	rt.publishAdvisory(s.acc, jsapi.AdvisoryPrefix+"STREAM.SNAPSHOT_COMPLETE."+s.name, snapshotAdvisory{
		typedEvent: newEvent(snapCompleteType), Stream: s.name, Client: ci, Domain: rt.cfg.Domain,
		Start: &start, End: timePtr(time.Now().UTC()), Bytes: uint64(total)})
}

func timePtr(t time.Time) *time.Time { return &t }

// exactInterest reports whether someone subscribes to subj itself, not
// only through a wildcard.
func (s *Stream) exactInterest(subj string) bool {
	r := s.acc.Sublist().Match(subj)
	for _, sub := range r.Psubs {
		if sub.Subject() == subj {
			return true
		}
	}
	for _, q := range r.Qsubs {
		for _, sub := range q {
			if sub.Subject() == subj {
				return true
			}
		}
	}
	return false
}

// waitCond waits on c for at most d. Held: c.L.
func waitCond(c *sync.Cond, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.AfterFunc(d, func() {
		c.L.Lock()
		c.Broadcast()
		c.L.Unlock()
	})
	c.Wait()
	t.Stop()
}

func statusHdr(status string) []byte {
	return []byte("NATS/1.0 " + status + "\r\n\r\n")
}

type snapshotAdvisory struct {
	typedEvent
	Stream string             `json:"stream"`
	State  *jsapi.StreamState `json:"state,omitempty"`
	Client *jsapi.ClientInfo  `json:"client,omitempty"`
	Start  *time.Time         `json:"start,omitempty"`
	End    *time.Time         `json:"end,omitempty"`
	Bytes  uint64             `json:"bytes,omitempty"`
	Error  string             `json:"error,omitempty"`
	Domain string             `json:"domain,omitempty"`
}

// StartRestore validates a restore request, reserves the stream name and
// returns the subject the client sends chunks to. The final empty message
// completes the restore; its reply gets a stream create response.
func (rt *Runtime) StartRestore(ctx context.Context, account string, req *jsapi.RestoreRequest, ci *jsapi.ClientInfo) (string, error) {
	ja := rt.lookupAccount(account)
	if ja == nil {
		return "", jserr.NewNotEnabledForAccountError()
	}
	cfg, err := rt.normalizeStreamConfig(req.Config, false)
	if err != nil {
		return "", err
	}
	ja.createMu.Lock()
	if ja.lookupStream(cfg.Name) != nil || ja.restoring[cfg.Name] {
		ja.createMu.Unlock()
		return "", jserr.NewStreamNameExistRestoreFailedError()
	}
	if err := ja.checkNewStream(&cfg, nil); err != nil {
		ja.createMu.Unlock()
		return "", err
	}
	if ja.restoring == nil {
		ja.restoring = map[string]bool{}
	}
	ja.restoring[cfg.Name] = true
	ja.createMu.Unlock()

	deliver := "$JS.SNAPSHOT.RESTORE." + cfg.Name + "." + newNUID()
	r := &restore{rt: rt, ja: ja, cfg: cfg, ci: ci, chunks: make(chan restoreChunk, 64)}
	sub, err := ja.acc.Subscribe(deliver, "", r.onChunk)
	if err != nil {
		ja.endRestore(cfg.Name)
		return "", jserr.NewRestoreSubscribeFailedError(deliver, err)
	}
	r.sub = sub
	go r.run()
	rt.publishAdvisory(ja.acc, jsapi.AdvisoryPrefix+"STREAM.RESTORE_CREATE."+cfg.Name, snapshotAdvisory{
		typedEvent: newEvent(restoreCreateType), Stream: cfg.Name, Client: ci, Domain: rt.cfg.Domain})
	return deliver, nil
}

func (ja *jsAccount) endRestore(name string) {
	ja.createMu.Lock()
	delete(ja.restoring, name)
	ja.createMu.Unlock()
}

type restoreChunk struct {
	data  []byte
	reply string
	pc    *server.Client
}

type restore struct {
	rt     *Runtime
	ja     *jsAccount
	cfg    jsapi.StreamConfig
	ci     *jsapi.ClientInfo
	sub    *server.Subscription
	chunks chan restoreChunk
}

// onChunk runs on the client's goroutine: hand the chunk over; the ack
// goes out once it is consumed so the client is flow controlled.
func (r *restore) onChunk(_ *server.Subscription, pc *server.Client, _, reply string, _, data []byte) {
	r.chunks <- restoreChunk{data: append([]byte(nil), data...), reply: reply, pc: pc}
}

func (r *restore) run() {
	rt, ja := r.rt, r.ja
	defer ja.acc.Unsubscribe(r.sub)
	defer ja.endRestore(r.cfg.Name)
	start := time.Now().UTC()
	pr, pw := io.Pipe()
	type result struct {
		st      store.StreamStore
		backend string
		err     error
	}
	done := make(chan result, 1)
	backend := rt.backendFor(&r.cfg)
	go func() {
		if err := rt.checkBackend(backend, &r.cfg); err != nil {
			pr.CloseWithError(err)
			done <- result{err: err}
			return
		}
		p, err := rt.provider(backend)
		if err != nil {
			pr.CloseWithError(err)
			done <- result{err: err}
			return
		}
		sc, err := storeConfig(ja.name, &r.cfg, start)
		if err != nil {
			pr.CloseWithError(err)
			done <- result{err: err}
			return
		}
		st, err := p.Restore(rt.ctx, sc, s2.NewReader(pr))
		pr.CloseWithError(err)
		done <- result{st: st, backend: backend, err: err}
	}()
	var final restoreChunk
	var werr error
	total := 0
loop:
	for {
		select {
		case c := <-r.chunks:
			if len(c.data) == 0 {
				final = c
				break loop
			}
			if werr == nil {
				_, werr = pw.Write(c.data)
				total += len(c.data)
			}
			if c.reply != "" {
				ja.acc.PublishAs(c.pc, c.reply, "", nil, nil)
			}
		case <-time.After(restoreIdle):
			pw.CloseWithError(errors.New("restore timed out"))
			<-done
			rt.log.Warnf("JetStream: restore of %q timed out", r.cfg.Name)
			return
		case <-rt.ctx.Done():
			pw.CloseWithError(errShutdown)
			return
		}
	}
	pw.Close()
	res := <-done
	resp := &jsapi.StreamCreateResponse{APIResponse: jsapi.APIResponse{Type: jsapi.StreamCreateResponseType}}
	var err error
	if res.err != nil {
		err = res.err
	} else if werr != nil && !errors.Is(werr, io.ErrClosedPipe) {
		err = werr
	}
	if err == nil {
		var s *Stream
		s, err = newStream(ja, r.cfg, start, res.backend, res.st)
		if err == nil {
			err = s.start()
		}
		if err == nil {
			ja.addStream(s)
			resp.StreamInfo, _, err = s.Info(rt.ctx, nil)
		} else {
			res.st.Delete(rt.ctx)
		}
	}
	if err != nil {
		resp.Error = jserr.NewStreamRestoreError(err)
	}
	if final.reply != "" {
		b, _ := jsonMarshal(resp)
		ja.acc.PublishAs(final.pc, final.reply, "", nil, b)
	}
	adv := snapshotAdvisory{typedEvent: newEvent(restoreCompleteType), Stream: r.cfg.Name, Client: r.ci,
		Domain: rt.cfg.Domain, Start: &start, End: timePtr(time.Now().UTC()), Bytes: uint64(total)}
	if err != nil {
		adv.Error = err.Error()
	}
	rt.publishAdvisory(ja.acc, jsapi.AdvisoryPrefix+"STREAM.RESTORE_COMPLETE."+r.cfg.Name, adv)
}
