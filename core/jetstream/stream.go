package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
)

var (
	errShutdown     = errors.New("jetstream: shutting down")
	errStreamClosed = errors.New("jetstream: stream closed")
)

// streamMeta is what the runtime persists with a stream (store Meta).
type streamMeta struct {
	Config  jsapi.StreamConfig `json:"config"`
	Created time.Time          `json:"created"`
}

// Stream is one stream: its configuration, store, subscriptions and the
// executor that applies its changes in order.
type Stream struct {
	rt      *Runtime
	ja      *jsAccount
	acc     *server.Account
	name    string
	backend string
	created time.Time
	st      store.StreamStore
	stype   store.StorageType

	// mu guards cfg, subs, transforms and closed. Order: jsAccount.mu, Stream.mu.
	mu        sync.RWMutex
	cfg       jsapi.StreamConfig
	subs      []*server.Subscription
	transform *subject.Transform
	republish *subject.Transform
	closed    bool

	// The executor's queue.
	qmu    sync.Mutex
	q      []*streamOp
	spare  []*streamOp
	qMsgs  int
	qBytes int64
	wake   chan struct{}
	quit   chan struct{}
	done   chan struct{}

	// Executor-owned state: only the executor goroutine touches these.
	dedupe    map[string]dedupeEntry
	dedupeQ   []dedupeEntry
	lastMsgID string
	runBuf    []*inMsg
	newMsgs   []store.NewMsg
	batches   map[string]*atomicBatch

	lastSeq   atomic.Uint64
	usedBytes atomic.Int64

	// sig is closed and replaced whenever messages are stored, waking
	// consumers and followers (mirrors, sources) waiting for more.
	sigMu sync.Mutex
	sig   chan struct{}

	expirer *store.Expirer
	cons    consumerSet
	feeds   *feedSet
}

// backendFor picks the backend of a stream: memory for memory streams,
// else the stream's metadata choice or the server default.
func (rt *Runtime) backendFor(cfg *jsapi.StreamConfig) string {
	if cfg.Storage == jsapi.MemoryStorage {
		return "memory"
	}
	if b := cfg.Metadata[BackendMetaKey]; b != "" {
		return b
	}
	return rt.cfg.Backend
}

func storeConfig(account string, cfg *jsapi.StreamConfig, created time.Time) (store.StreamConfig, error) {
	meta, err := json.Marshal(streamMeta{Config: *cfg, Created: created})
	if err != nil {
		return store.StreamConfig{}, err
	}
	sc := store.StreamConfig{
		Account: account, Name: cfg.Name,
		MaxMsgs: cfg.MaxMsgs, MaxBytes: cfg.MaxBytes, MaxMsgsPerSubject: cfg.MaxMsgsPerSubject,
		MaxAge: cfg.MaxAge, MaxMsgSize: cfg.MaxMsgSize, DiscardNewPerSubject: cfg.DiscardNewPer,
		FirstSeq: cfg.FirstSeq, AllowMsgTTL: cfg.AllowMsgTTL, Meta: meta,
	}
	if cfg.Storage == jsapi.MemoryStorage {
		sc.Storage = store.MemoryStorage
	}
	if cfg.Discard == jsapi.DiscardNew {
		sc.Discard = store.DiscardNew
	}
	if cfg.Compression == jsapi.S2Compression {
		sc.Compression = store.S2Compression
	}
	// Interest and work-queue streams drop messages on acks, not limits
	// alone; the store still enforces the configured limits.
	return sc, nil
}

func newStream(ja *jsAccount, cfg jsapi.StreamConfig, created time.Time, backend string, st store.StreamStore) (*Stream, error) {
	s := &Stream{
		rt: ja.rt, ja: ja, acc: ja.acc, name: cfg.Name, backend: backend, created: created, st: st,
		cfg: cfg, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		dedupe: map[string]dedupeEntry{}, sig: make(chan struct{}),
	}
	if cfg.Storage == jsapi.MemoryStorage {
		s.stype = store.MemoryStorage
	}
	if err := s.compileTransforms(&cfg); err != nil {
		return nil, err
	}
	s.cons.init()
	return s, nil
}

func (s *Stream) compileTransforms(cfg *jsapi.StreamConfig) error {
	s.transform, s.republish = nil, nil
	if st := cfg.SubjectTransform; st != nil && st.Destination != "" {
		t, err := subject.NewTransform(orAll(st.Source), st.Destination)
		if err != nil {
			return jserr.NewStreamTransformInvalidDestinationError(err)
		}
		s.transform = t
	}
	if rp := cfg.RePublish; rp != nil {
		t, err := subject.NewTransform(orAll(rp.Source), rp.Destination)
		if err != nil {
			return jserr.NewStreamInvalidConfigError(err)
		}
		s.republish = t
	}
	return nil
}

// start brings a stream online: executor, subscriptions, expiry, feeds.
func (s *Stream) start() error {
	st, err := s.st.FastState(s.rt.ctx)
	if err != nil {
		return err
	}
	s.lastSeq.Store(st.LastSeq)
	s.trackUsage(int64(st.Bytes))
	if st.Msgs > 0 {
		s.rebuildDedupe(st)
	}
	go s.run()
	if err := s.subscribe(); err != nil {
		s.stop(false)
		return err
	}
	s.expirer = store.NewExpirer(s.st, store.ExpirerOptions{
		OnExpire: s.onExpired,
		OnError:  func(err error) { s.rt.log.Warnf("JetStream: expiring %q: %v", s.name, err) },
	})
	s.expirer.Start()
	s.startFeeds()
	if err := s.recoverConsumers(); err != nil {
		s.rt.log.Errorf("JetStream: recovering consumers of %q: %v", s.name, err)
	}
	return nil
}

// subscribe registers the stream's subject interest.
func (s *Stream) subscribe() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subs {
		s.acc.Unsubscribe(sub)
	}
	s.subs = nil
	for _, subj := range s.cfg.Subjects {
		sub, err := s.acc.Subscribe(subj, "", s.onMsg)
		if err != nil {
			return err
		}
		s.subs = append(s.subs, sub)
	}
	return nil
}

func (s *Stream) unsubscribe() {
	s.mu.Lock()
	for _, sub := range s.subs {
		s.acc.Unsubscribe(sub)
	}
	s.subs = nil
	s.mu.Unlock()
}

// stop takes the stream offline; with del it also removes its data.
func (s *Stream) stop(del bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.unsubscribe()
	s.stopFeeds()
	if s.expirer != nil {
		s.expirer.Stop()
	}
	s.stopConsumers(del)
	close(s.quit)
	<-s.done
	s.signal()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.trackUsage(0)
	if del {
		return s.st.Delete(ctx)
	}
	return s.st.Close(ctx)
}

func (s *Stream) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// config returns a copy of the configuration.
func (s *Stream) config() jsapi.StreamConfig {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg
}

// Name returns the stream name.
func (s *Stream) Name() string { return s.name }

// Store returns the stream's store.
func (s *Stream) Store() store.StreamStore { return s.st }

// Backend returns the backend holding the stream.
func (s *Stream) Backend() string { return s.backend }

func (s *Stream) fastState() store.StreamState {
	st, err := s.st.FastState(s.rt.ctx)
	if err != nil {
		return store.StreamState{}
	}
	return st
}

// trackUsage records the stream's stored bytes in the account and server
// totals used for limits.
func (s *Stream) trackUsage(bytes int64) {
	old := s.usedBytes.Swap(bytes)
	d := bytes - old
	if d == 0 {
		return
	}
	if s.stype == store.MemoryStorage {
		s.ja.memUsed.Add(d)
		s.rt.memUsed.Add(d)
	} else {
		s.ja.storeUsed.Add(d)
		s.rt.storeUsed.Add(d)
	}
}

// signal wakes everything waiting for new messages.
func (s *Stream) signal() {
	s.sigMu.Lock()
	close(s.sig)
	s.sig = make(chan struct{})
	s.sigMu.Unlock()
}

// waitChan returns a channel closed at the next store.
func (s *Stream) waitChan() <-chan struct{} {
	s.sigMu.Lock()
	defer s.sigMu.Unlock()
	return s.sig
}

// Info builds the stream's info document.
func (s *Stream) Info(ctx context.Context, opts *jsapi.StreamInfoRequest) (*jsapi.StreamInfo, int, error) {
	cfg := s.config()
	var st store.StreamState
	var err error
	if opts != nil && opts.DeletedDetails {
		st, err = s.st.State(ctx)
	} else {
		st, err = s.st.FastState(ctx)
	}
	if err != nil {
		return nil, 0, jserr.NewStreamGeneralErrorError(err)
	}
	info := &jsapi.StreamInfo{
		Config:    s.reportedConfig(cfg),
		Created:   s.created.UTC(),
		State:     apiState(&st),
		Domain:    s.rt.cfg.Domain,
		Cluster:   &jsapi.ClusterInfo{Leader: s.rt.srv.Name()},
		TimeStamp: time.Now().UTC(),
	}
	info.State.Consumers = s.numConsumers()
	if opts != nil && opts.DeletedDetails {
		info.State.Deleted = st.DeletedSeqs()
	}
	total := 0
	if opts != nil && opts.SubjectsFilter != "" {
		totals, err := s.st.SubjectsTotals(ctx, opts.SubjectsFilter)
		if err != nil {
			return nil, 0, jserr.NewStreamGeneralErrorError(err)
		}
		total = len(totals)
		info.State.Subjects = pageSubjects(totals, opts.Offset, maxSubjectsPage)
	}
	s.feedInfo(info)
	return info, total, nil
}

const maxSubjectsPage = 100_000

func pageSubjects(m map[string]uint64, offset, limit int) map[string]uint64 {
	if len(m) == 0 {
		return nil
	}
	if offset <= 0 && len(m) <= limit {
		return m
	}
	offset = max(offset, 0)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]uint64{}
	for i := offset; i < len(keys) && len(out) < limit; i++ {
		out[keys[i]] = m[keys[i]]
	}
	return out
}

// reportedConfig adds the server-managed metadata the reference reports
// (and Hangar's backend) to a copy of cfg.
func (s *Stream) reportedConfig(cfg jsapi.StreamConfig) jsapi.StreamConfig {
	md := make(map[string]string, len(cfg.Metadata)+4)
	for k, v := range cfg.Metadata {
		md[k] = v
	}
	md["_nats.ver"] = server.ProtocolVersion
	md["_nats.level"] = fmt.Sprint(APILevel)
	md["_nats.req.level"] = fmt.Sprint(requiredLevel(&cfg))
	if cfg.Storage == jsapi.FileStorage {
		md[BackendMetaKey] = s.backend
	}
	cfg.Metadata = md
	return cfg
}

// requiredLevel is the API level a stream config needs (ADR-44).
func requiredLevel(cfg *jsapi.StreamConfig) int {
	switch {
	case cfg.AllowBatchPublish:
		return 3
	case cfg.PersistMode == jsapi.AsyncPersistMode || cfg.AllowAtomicPublish:
		return 2
	case cfg.AllowMsgTTL || cfg.SubjectDeleteMarkerTTL > 0:
		return 1
	}
	return 0
}

func apiState(st *store.StreamState) jsapi.StreamState {
	out := jsapi.StreamState{
		Msgs: st.Msgs, Bytes: st.Bytes, FirstSeq: st.FirstSeq, LastSeq: st.LastSeq,
		NumSubjects: int(st.NumSubjects), NumDeleted: int(st.NumDeleted),
	}
	if st.FirstTime != 0 {
		out.FirstTime = time.Unix(0, st.FirstTime).UTC()
	}
	if st.LastTime != 0 {
		out.LastTime = time.Unix(0, st.LastTime).UTC()
	}
	if st.Lost != nil && (len(st.Lost.Msgs) > 0 || st.Lost.Bytes > 0) {
		out.Lost = &jsapi.LostStreamData{Msgs: st.Lost.Msgs, Bytes: st.Lost.Bytes}
	}
	return out
}

// matchesSubject reports whether the stream captures subj (for the
// subject filter of STREAM.NAMES/LIST).
func (s *Stream) matchesSubject(filter string) bool {
	cfg := s.config()
	for _, subj := range cfg.Subjects {
		if subject.Overlap(subj, filter) {
			return true
		}
	}
	return false
}

// CreateStream creates a stream (or confirms an identical one exists).
func (rt *Runtime) CreateStream(ctx context.Context, account string, in jsapi.StreamConfig, pedantic bool) (*jsapi.StreamInfo, bool, error) {
	ja := rt.lookupAccount(account)
	if ja == nil {
		return nil, false, jserr.NewNotEnabledForAccountError()
	}
	cfg, err := rt.normalizeStreamConfig(in, pedantic)
	if err != nil {
		return nil, false, err
	}
	if cfg.Sealed {
		return nil, false, jserr.NewStreamInvalidConfigError(fmt.Errorf("stream configuration for create can not be sealed"))
	}
	ja.createMu.Lock()
	defer ja.createMu.Unlock()
	if s := ja.lookupStream(cfg.Name); s != nil {
		if configsEqual(s.config(), cfg) {
			info, _, err := s.Info(ctx, nil)
			return info, false, err
		}
		return nil, false, jserr.NewStreamNameExistError()
	}
	if err := ja.checkNewStream(&cfg, nil); err != nil {
		return nil, false, err
	}
	if m := cfg.Mirror; m != nil && m.External == nil {
		// A mirror serves its origin's direct gets when the origin allows them.
		if o := ja.lookupStream(m.Name); o != nil && o.AllowDirect() {
			cfg.MirrorDirect = true
		}
	}
	backend := rt.backendFor(&cfg)
	if err := rt.checkBackend(backend, &cfg); err != nil {
		return nil, false, err
	}
	p, err := rt.provider(backend)
	if err != nil {
		return nil, false, jserr.NewStreamCreateError(err)
	}
	created := time.Now().UTC()
	sc, err := storeConfig(account, &cfg, created)
	if err != nil {
		return nil, false, jserr.NewStreamCreateError(err)
	}
	st, err := p.Open(ctx, sc)
	if err != nil {
		return nil, false, jserr.NewStreamCreateError(err)
	}
	s, err := newStream(ja, cfg, created, backend, st)
	if err != nil {
		st.Delete(ctx)
		return nil, false, err
	}
	if err := s.start(); err != nil {
		st.Delete(ctx)
		return nil, false, jserr.NewStreamCreateError(err)
	}
	ja.addStream(s)
	rt.advisoryStreamAction(ja.acc, cfg.Name, "create")
	info, _, err := s.Info(ctx, nil)
	return info, true, err
}

// configsEqual compares configs ignoring server-managed metadata.
func configsEqual(a, b jsapi.StreamConfig) bool {
	ab, _ := json.Marshal(stripServerMeta(a))
	bb, _ := json.Marshal(stripServerMeta(b))
	return string(ab) == string(bb)
}

// checkBackend validates a backend choice for a stream.
func (rt *Runtime) checkBackend(backend string, cfg *jsapi.StreamConfig) error {
	if _, ok := store.Lookup("store." + backend); !ok {
		return jserr.NewStreamInvalidConfigError(fmt.Errorf("storage backend %q is not available", backend))
	}
	if cfg.Storage == jsapi.MemoryStorage && cfg.Metadata[BackendMetaKey] != "" && cfg.Metadata[BackendMetaKey] != "memory" {
		return jserr.NewStreamInvalidConfigError(fmt.Errorf("memory streams can not select a storage backend"))
	}
	return nil
}

// checkNewStream applies account limits and the subject overlap rule to a
// stream being created (old nil) or updated.
func (ja *jsAccount) checkNewStream(cfg *jsapi.StreamConfig, old *Stream) error {
	lim := ja.getLimits()
	if old == nil && lim.MaxStreams > 0 && ja.numStreams() >= lim.MaxStreams {
		return jserr.NewMaximumStreamsLimitError()
	}
	if lim.MaxBytesRequired && cfg.MaxBytes <= 0 {
		return jserr.NewStreamMaxBytesRequiredError()
	}
	if cfg.MaxBytes > 0 {
		maxStream := lim.StoreMaxStreamBytes
		if cfg.Storage == jsapi.MemoryStorage {
			maxStream = lim.MemoryMaxStreamBytes
		}
		if maxStream > 0 && cfg.MaxBytes > maxStream {
			return jserr.NewStreamMaxStreamBytesExceededError()
		}
		u := ja.usage()
		if old != nil {
			if oc := old.config(); oc.MaxBytes > 0 {
				if oc.Storage == jsapi.MemoryStorage {
					u.resMem -= uint64(oc.MaxBytes)
				} else {
					u.resStore -= uint64(oc.MaxBytes)
				}
			}
		}
		if cfg.Storage == jsapi.MemoryStorage {
			if lim.MaxMemory > 0 && int64(u.resMem)+cfg.MaxBytes > lim.MaxMemory {
				return jserr.NewMemoryResourcesExceededError()
			}
			if int64(u.resMem)+cfg.MaxBytes > ja.rt.cfg.MaxMemory {
				return jserr.NewMemoryResourcesExceededError()
			}
		} else {
			if lim.MaxStore > 0 && int64(u.resStore)+cfg.MaxBytes > lim.MaxStore {
				return jserr.NewStorageResourcesExceededError()
			}
			if int64(u.resStore)+cfg.MaxBytes > ja.rt.cfg.MaxStore {
				return jserr.NewStorageResourcesExceededError()
			}
		}
	}
	for _, o := range ja.streamList() {
		if o == old {
			continue
		}
		ocfg := o.config()
		for _, a := range cfg.Subjects {
			for _, b := range ocfg.Subjects {
				if subject.Overlap(a, b) {
					return jserr.NewStreamSubjectOverlapError()
				}
			}
		}
	}
	return nil
}

// UpdateStream applies a new configuration to an existing stream.
func (rt *Runtime) UpdateStream(ctx context.Context, account string, in jsapi.StreamConfig, pedantic bool) (*jsapi.StreamInfo, error) {
	ja := rt.lookupAccount(account)
	if ja == nil {
		return nil, jserr.NewNotEnabledForAccountError()
	}
	ja.createMu.Lock()
	defer ja.createMu.Unlock()
	s := ja.lookupStream(in.Name)
	if s == nil {
		return nil, jserr.NewStreamNotFoundError()
	}
	old := s.config()
	if in.Metadata[BackendMetaKey] != "" && in.Metadata[BackendMetaKey] != s.backend && old.Storage == jsapi.FileStorage {
		return nil, jserr.NewStreamInvalidConfigError(fmt.Errorf("stream backend can not be changed by update; back up and restore instead"))
	}
	cfg, err := rt.normalizeStreamConfig(in, pedantic)
	if err != nil {
		return nil, err
	}
	if err := checkUpdate(&old, &cfg); err != nil {
		return nil, err
	}
	if err := ja.checkNewStream(&cfg, s); err != nil {
		return nil, err
	}
	if _, err := s.propose(&streamOp{kind: opUpdateConfig, cfg: &cfg}); err != nil {
		return nil, jserr.NewStreamUpdateError(err)
	}
	rt.advisoryStreamAction(ja.acc, cfg.Name, "modify")
	info, _, err := s.Info(ctx, nil)
	return info, err
}

// applyConfig runs on the executor: persist, adjust the store, resubscribe.
func (s *Stream) applyConfig(cfg *jsapi.StreamConfig) error {
	sc, err := storeConfig(s.acc.Name, cfg, s.created)
	if err != nil {
		return err
	}
	if err := s.st.UpdateConfig(s.rt.ctx, sc); err != nil {
		return err
	}
	s.mu.Lock()
	old := s.cfg
	s.cfg = *cfg
	s.mu.Unlock()
	if err := s.compileTransforms(cfg); err != nil {
		return err
	}
	if strings.Join(old.Subjects, "\x00") != strings.Join(cfg.Subjects, "\x00") {
		if err := s.subscribe(); err != nil {
			return err
		}
	}
	if !sameSources(&old, cfg) {
		go func() {
			s.stopFeeds()
			s.startFeeds()
		}()
	}
	if st, err := s.st.FastState(s.rt.ctx); err == nil {
		s.trackUsage(int64(st.Bytes))
	}
	s.expirer.Schedule(time.Now().UnixNano())
	return nil
}

// DeleteStream removes a stream and its consumers.
func (rt *Runtime) DeleteStream(ctx context.Context, account, name string) error {
	ja := rt.lookupAccount(account)
	if ja == nil {
		return jserr.NewNotEnabledForAccountError()
	}
	s := ja.lookupStream(name)
	if s == nil {
		return jserr.NewStreamNotFoundError()
	}
	ja.removeStream(s)
	if err := s.stop(true); err != nil {
		return jserr.NewStreamDeleteError(err)
	}
	rt.advisoryStreamAction(ja.acc, name, "delete")
	return nil
}

// LookupStream returns the named stream of account.
func (rt *Runtime) LookupStream(account, name string) (*Stream, error) {
	ja := rt.lookupAccount(account)
	if ja == nil {
		return nil, jserr.NewNotEnabledForAccountError()
	}
	s := ja.lookupStream(name)
	if s == nil {
		return nil, jserr.NewStreamNotFoundError()
	}
	return s, nil
}

// Streams returns account's streams sorted by name, optionally only those
// whose subjects overlap filter.
func (rt *Runtime) Streams(account, filter string) ([]*Stream, error) {
	ja := rt.lookupAccount(account)
	if ja == nil {
		return nil, jserr.NewNotEnabledForAccountError()
	}
	all := ja.streamList()
	if filter == "" {
		return all, nil
	}
	out := all[:0]
	for _, s := range all {
		if s.matchesSubject(filter) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Purge removes messages as req says and returns how many.
func (s *Stream) Purge(ctx context.Context, req jsapi.StreamPurgeRequest) (uint64, error) {
	cfg := s.config()
	if cfg.Sealed {
		return 0, jserr.NewStreamSealedError()
	}
	if cfg.DenyPurge {
		return 0, jserr.NewStreamPurgeFailedError(errors.New("stream purge not permitted"))
	}
	if req.Sequence > 0 && req.Keep > 0 {
		return 0, jserr.NewBadRequestError()
	}
	if req.Subject != "" && !subject.Valid(req.Subject) {
		return 0, jserr.NewStreamPurgeFailedError(errors.New("invalid subject"))
	}
	n, err := s.propose(&streamOp{kind: opPurge, purge: store.PurgeRequest{Subject: req.Subject, Seq: req.Sequence, Keep: req.Keep}})
	if err != nil {
		return 0, jserr.NewStreamPurgeFailedError(err)
	}
	return n, nil
}

// DeleteMsg removes one message (erasing it unless noErase).
func (s *Stream) DeleteMsg(ctx context.Context, seq uint64, noErase bool) error {
	cfg := s.config()
	if cfg.Sealed {
		return jserr.NewStreamSealedError()
	}
	if cfg.DenyDelete {
		return jserr.NewStreamMsgDeleteFailedError(errors.New("message delete not permitted"))
	}
	if _, err := s.propose(&streamOp{kind: opDeleteMsg, seq: seq, erase: !noErase}); err != nil {
		if store.IsMissing(err) {
			return jserr.NewSequenceNotFoundError(seq)
		}
		return jserr.NewStreamMsgDeleteFailedError(err)
	}
	return nil
}
