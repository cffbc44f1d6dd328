package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
	"github.com/hangar-mq/hangar/core/server"
	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
)

// pendingMsg is a delivered, unacknowledged message.
type pendingMsg struct {
	dseq     uint64 // consumer sequence of its latest delivery
	ts       int64  // when that delivery happened (Unix ns)
	deadline int64  // when to redeliver (Unix ns)
	dc       uint64 // deliveries so far
}

// Consumer is one consumer of a stream, pull or push. One goroutine (run)
// delivers; acks, pull requests and flow-control replies arrive inline on
// their publishers' goroutines, change the state under mu and kick it.
type Consumer struct {
	rt        *Runtime
	s         *Stream
	acc       *server.Account
	name      string
	created   time.Time
	cs        store.ConsumerStore
	ackPrefix string // "$JS.ACK.<stream>.<consumer>."
	subs      []*server.Subscription

	// mu guards everything below. Order: Stream.cons.mu, then Consumer.mu;
	// never two consumers at once.
	mu      sync.Mutex
	cfg     jsapi.ConsumerConfig
	filters []string
	closed  bool

	sseq    uint64 // next stream sequence to deliver for the first time
	dseq    uint64 // last consumer sequence given out
	dsseq   uint64 // highest stream sequence delivered
	adflr   uint64 // ack floor, consumer sequence
	asflr   uint64 // ack floor, stream sequence
	pending map[uint64]pendingMsg
	// maxed holds the deliveries of messages that reached max_deliver:
	// no longer pending or redelivered, still counted as redelivered and
	// holding the ack floor, as in the reference.
	maxed map[uint64]uint64
	rdq   []uint64 // stream sequences due for redelivery, in order
	lss   []uint64 // last_per_subject start: sequences still to deliver
	dirty bool     // ack-none state not yet persisted

	npc, npf uint64 // num pending and the stream sequence it is valid through
	npGen    uint64 // removal generation npc was counted at

	lastDelivered time.Time
	lastAck       time.Time
	pauseUntil    time.Time
	paused        bool
	sample        float64
	maxAckBlocked bool

	waiting []*waitingRequest
	pins    map[string]*pinState
	push    pushState

	activeAt  time.Time // last moment the consumer had interest
	nextEvent time.Time // earliest timer-driven work
	replay    replayState

	kickCh  chan struct{}
	quit    chan struct{}
	done    chan struct{}
	out     outBatch
	scratch []byte // the loop's ack subject buffer
}

// consumerMeta is what the runtime persists with a consumer (store meta).
type consumerMeta struct {
	Config  jsapi.ConsumerConfig `json:"config"`
	Created time.Time            `json:"created"`
}

// Name returns the consumer name.
func (c *Consumer) Name() string { return c.name }

// Config returns a copy of the consumer's configuration.
func (c *Consumer) Config() jsapi.ConsumerConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.Clone()
}

func (c *Consumer) kick() {
	select {
	case c.kickCh <- struct{}{}:
	default:
	}
}

// setEventLocked makes the loop wake no later than t. Held: c.mu.
func (c *Consumer) setEventLocked(t time.Time) {
	if !t.IsZero() && (c.nextEvent.IsZero() || t.Before(c.nextEvent)) {
		c.nextEvent = t
	}
}

var ephemeralChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func ephemeralName() string {
	b := make([]byte, 8)
	for i := range b {
		b[i] = ephemeralChars[rand.IntN(len(ephemeralChars))]
	}
	return string(b)
}

// AddConsumer creates or updates a consumer of s, as CONSUMER.CREATE does.
func (s *Stream) AddConsumer(ctx context.Context, in jsapi.ConsumerConfig, action jsapi.ConsumerAction) (*jsapi.ConsumerInfo, error) {
	cfg, err := s.normalizeConsumerConfig(in)
	if err != nil {
		return nil, err
	}
	s.cons.createMu.Lock()
	defer s.cons.createMu.Unlock()
	if s.isClosed() {
		return nil, jserr.NewStreamNotFoundError()
	}
	if cfg.Name != "" {
		if c := s.cons.lookup(cfg.Name); c != nil {
			return c.recreate(ctx, cfg, in, action)
		}
	}
	if action == jsapi.ActionUpdate {
		return nil, jserr.NewConsumerDoesNotExistError()
	}
	if err := s.checkNewConsumer(&cfg); err != nil {
		return nil, err
	}
	// A legacy ephemeral gets a generated name; its config keeps none, as
	// the reference reports it.
	name := cfg.Name
	if name == "" {
		for name = ephemeralName(); s.cons.lookup(name) != nil; name = ephemeralName() {
		}
	}
	c, err := s.newConsumer(name, cfg, time.Now().UTC(), nil)
	if err != nil {
		return nil, err
	}
	s.cons.add(c)
	s.rt.advisoryConsumerAction(s.acc, s.name, c.name, "create")
	if c.isPaused() {
		s.rt.advisoryPause(s.acc, s.name, c.name, true, c.cfg.PauseUntil)
	}
	c.start()
	return c.Info(), nil
}

// recreate handles a create request for an existing consumer: the same
// configuration is a no-op, a different one an update unless the action
// forbids it.
func (c *Consumer) recreate(ctx context.Context, cfg, in jsapi.ConsumerConfig, action jsapi.ConsumerAction) (*jsapi.ConsumerInfo, error) {
	old := c.Config()
	if cfg.PauseUntil == nil {
		cfg.PauseUntil = old.PauseUntil
	}
	if consumerConfigsEqual(&old, &cfg) {
		// The reference jitters a defaulted ephemeral inactive threshold,
		// so such a "create" never finds the same configuration.
		if action == jsapi.ActionCreate && old.Durable == "" && in.InactiveThreshold <= 0 {
			return nil, jserr.NewConsumerAlreadyExistsError()
		}
		return c.Info(), nil
	}
	if action == jsapi.ActionCreate {
		return nil, jserr.NewConsumerAlreadyExistsError()
	}
	if err := checkConsumerUpdate(&old, &cfg); err != nil {
		return nil, err
	}
	if err := c.s.checkWorkQueueFilters(&cfg, c); err != nil {
		return nil, err
	}
	if err := c.updateConfig(ctx, cfg); err != nil {
		return nil, err
	}
	return c.Info(), nil
}

func consumerConfigsEqual(a, b *jsapi.ConsumerConfig) bool {
	ac, bc := *a, *b
	ac.Metadata, bc.Metadata = stripNatsMeta(a.Metadata), stripNatsMeta(b.Metadata)
	ab, _ := json.Marshal(&ac)
	bb, _ := json.Marshal(&bc)
	return string(ab) == string(bb)
}

func stripNatsMeta(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if len(k) < 6 || k[:6] != "_nats." {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// checkNewConsumer applies the limits and work-queue rules to a consumer
// about to be created.
func (s *Stream) checkNewConsumer(cfg *jsapi.ConsumerConfig) error {
	scfg := s.config()
	if scfg.MaxConsumers > 0 && s.numConsumers() >= scfg.MaxConsumers {
		return jserr.NewMaximumConsumersLimitError()
	}
	if lim := s.ja.getLimits(); lim.MaxConsumers > 0 && s.ja.usage().consumers >= lim.MaxConsumers {
		return jserr.NewMaximumConsumersLimitError()
	}
	return s.checkWorkQueueFilters(cfg, nil)
}

// checkWorkQueueFilters enforces one consumer per subject on a work-queue
// stream; self is the consumer being updated, if any.
func (s *Stream) checkWorkQueueFilters(cfg *jsapi.ConsumerConfig, self *Consumer) error {
	if s.config().Retention != jsapi.WorkQueuePolicy {
		return nil
	}
	mine := consumerFilters(cfg)
	for _, o := range s.cons.list() {
		if o == self {
			continue
		}
		theirs := o.filterList()
		if len(mine) == 0 && len(theirs) == 0 {
			return jserr.NewConsumerWQMultipleUnfilteredError()
		}
		if filtersOverlap(mine, theirs) {
			return jserr.NewConsumerWQConsumerNotUniqueError()
		}
	}
	return nil
}

func filtersOverlap(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	for _, x := range a {
		for _, y := range b {
			if subject.Overlap(x, y) {
				return true
			}
		}
	}
	return false
}

func (c *Consumer) filterList() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.filters
}

// newConsumer builds a consumer; state is nil for a new one and the stored
// state for a recovered one.
func (s *Stream) newConsumer(name string, cfg jsapi.ConsumerConfig, created time.Time, recovered *store.ConsumerInfo) (*Consumer, error) {
	c := &Consumer{
		rt: s.rt, s: s, acc: s.acc, name: name, created: created, cfg: cfg,
		filters: consumerFilters(&cfg), pending: map[uint64]pendingMsg{},
		ackPrefix: jsapi.AckPrefix + s.name + "." + name + ".",
		kickCh:    make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		activeAt: time.Now(),
	}
	c.applyDerivedLocked()
	if recovered != nil {
		cs, err := s.st.OpenConsumer(s.rt.ctx, name, nil)
		if err != nil {
			return nil, jserr.NewConsumerStoreFailedError(err)
		}
		c.cs = cs
		c.restoreState(&recovered.State)
	} else {
		meta, _ := json.Marshal(consumerMeta{Config: cfg, Created: created})
		cs, err := c.openStore(meta)
		if err != nil {
			return nil, jserr.NewConsumerStoreFailedError(err)
		}
		c.cs = cs
		if err := c.selectStart(); err != nil {
			cs.Delete(s.rt.ctx)
			return nil, err
		}
	}
	c.recountLocked()
	return c, nil
}

// openStore opens the consumer's state store: the stream's for durable
// state, a private in-memory one for mem_storage consumers.
func (c *Consumer) openStore(meta []byte) (store.ConsumerStore, error) {
	if c.cfg.MemoryStorage && c.s.stype != store.MemoryStorage {
		return newMemConsumerStore(meta), nil
	}
	ctx := c.rt.ctx
	cs, err := c.s.st.OpenConsumer(ctx, c.name, meta)
	if err != nil {
		return nil, err
	}
	// A store left behind by an earlier consumer of the same name starts
	// over.
	if err := cs.Update(ctx, store.ConsumerState{}); err != nil {
		cs.Close(ctx)
		return nil, err
	}
	return cs, nil
}

// applyDerivedLocked recomputes what follows from the configuration.
func (c *Consumer) applyDerivedLocked() {
	c.filters = consumerFilters(&c.cfg)
	c.sample = 0
	if c.cfg.SampleFrequency != "" {
		c.sample, _ = parseSampleFreq(c.cfg.SampleFrequency)
	}
	c.paused = false
	c.pauseUntil = time.Time{}
	if pu := c.cfg.PauseUntil; pu != nil && pu.After(time.Now()) {
		c.paused, c.pauseUntil = true, *pu
		c.setEventLocked(*pu)
	}
}

// selectStart sets the starting position of a new consumer from its
// deliver policy.
func (c *Consumer) selectStart() error {
	ctx := c.rt.ctx
	st, err := c.s.st.FastState(ctx)
	if err != nil {
		return jserr.NewConsumerCreateError(err)
	}
	first := max(st.FirstSeq, 1)
	c.sseq = first
	switch c.cfg.DeliverPolicy {
	case jsapi.DeliverLast:
		if seq := c.lastMatching(); seq > 0 {
			c.sseq = seq
		}
	case jsapi.DeliverNew:
		c.sseq = st.LastSeq + 1
	case jsapi.DeliverByStartSequence:
		c.sseq = max(c.cfg.OptStartSeq, first)
	case jsapi.DeliverByStartTime:
		seq, err := c.s.st.SeqFromTime(ctx, c.cfg.OptStartTime.UnixNano())
		if err != nil {
			return jserr.NewConsumerCreateError(err)
		}
		c.sseq = max(seq, first)
	case jsapi.DeliverLastPerSubject:
		seqs, err := c.s.st.MultiLastSeqs(ctx, c.filters, 0, 0)
		if err != nil && !store.IsMissing(err) {
			return jserr.NewConsumerCreateError(err)
		}
		if len(seqs) > 0 {
			c.lss = seqs
			c.sseq = seqs[0]
		}
	}
	c.dsseq, c.asflr = c.sseq-1, c.sseq-1
	return nil
}

// lastMatching returns the last stream sequence matching the filters.
func (c *Consumer) lastMatching() uint64 {
	filters := c.filters
	if len(filters) == 0 {
		filters = []string{""}
	}
	var last uint64
	for _, f := range filters {
		m, err := c.s.st.LoadLast(c.rt.ctx, f)
		if err == nil && m.Seq > last {
			last = m.Seq
		}
	}
	return last
}

// restoreState loads a recovered consumer's position from its store.
func (c *Consumer) restoreState(st *store.ConsumerState) {
	c.dseq, c.dsseq = st.Delivered.Consumer, st.Delivered.Stream
	c.adflr, c.asflr = st.AckFloor.Consumer, st.AckFloor.Stream
	c.sseq = st.Delivered.Stream + 1
	wait := c.cfg.AckWait
	for sseq, p := range st.Pending {
		dc := st.Redelivered[sseq] + 1
		pm := pendingMsg{dseq: p.Sequence, ts: p.Timestamp, dc: dc}
		pm.deadline = p.Timestamp + int64(c.ackWaitFor(dc, wait))
		c.pending[sseq] = pm
		c.setEventLocked(time.Unix(0, pm.deadline))
	}
	for sseq, n := range st.Redelivered {
		if _, ok := st.Pending[sseq]; !ok && sseq > c.asflr {
			if c.maxed == nil {
				c.maxed = map[uint64]uint64{}
			}
			c.maxed[sseq] = n + 1
		}
	}
}

// updateConfig applies an allowed configuration change.
func (c *Consumer) updateConfig(ctx context.Context, cfg jsapi.ConsumerConfig) error {
	meta, err := json.Marshal(consumerMeta{Config: cfg, Created: c.created})
	if err != nil {
		return jserr.NewConsumerCreateError(err)
	}
	if err := c.cs.SetMeta(ctx, meta); err != nil {
		return jserr.NewConsumerCreateError(err)
	}
	c.mu.Lock()
	old := c.cfg
	wasPaused := c.paused
	c.cfg = cfg
	c.applyDerivedLocked()
	if !equalStrings(consumerFilters(&old), c.filters) {
		c.recountLocked()
	}
	if old.DeliverSubject != cfg.DeliverSubject {
		c.push.gen = 0
	}
	paused, until := c.paused, c.cfg.PauseUntil
	c.mu.Unlock()
	if paused != wasPaused {
		c.rt.advisoryPause(c.acc, c.s.name, c.name, paused, until)
	}
	c.kick()
	return nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// start subscribes the consumer's ack and flow-control subjects and runs
// its delivery loop.
func (c *Consumer) start() error {
	type handler struct {
		subj string
		cb   server.MsgHandler
	}
	var hs []handler
	// An ack-none consumer takes no acks: acking it finds no responder,
	// as with the reference.
	if c.cfg.AckPolicy != jsapi.AckNone {
		hs = append(hs,
			handler{c.ackPrefix + ">", func(_ *server.Subscription, _ *server.Client, subj, reply string, _, data []byte) {
				c.onAck(subj, reply, data, false)
			}},
			handler{jsapi.AckPrefix + "*.*." + c.s.name + "." + c.name + ".>", func(_ *server.Subscription, _ *server.Client, subj, reply string, _, data []byte) {
				c.onAck(subj, reply, data, true)
			}})
	}
	if c.cfg.FlowControl {
		hs = append(hs, handler{"$JS.FC." + c.s.name + "." + c.name + ".>", func(_ *server.Subscription, _ *server.Client, subj, _ string, _, _ []byte) {
			c.onFlowControl(subj)
		}})
	}
	for _, sc := range hs {
		sub, err := c.acc.Subscribe(sc.subj, "", sc.cb)
		if err != nil {
			c.unsubscribe()
			return err
		}
		c.subs = append(c.subs, sub)
	}
	c.mu.Lock()
	// The first round of the loop sets up the timers.
	c.nextEvent = time.Now()
	c.mu.Unlock()
	go c.run()
	return nil
}

func (c *Consumer) unsubscribe() {
	for _, sub := range c.subs {
		c.acc.Unsubscribe(sub)
	}
	c.subs = nil
}

// stop ends the loop. With del the consumer is going away for good:
// waiting pull requests hear so and its state is removed.
func (c *Consumer) stop(del, streamGone bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	waiting := c.waiting
	c.waiting = nil
	c.mu.Unlock()
	c.unsubscribe()
	close(c.quit)
	<-c.done
	ctx := context.Background()
	if del {
		for _, wr := range waiting {
			c.acc.Publish(wr.reply, "", statusConsumerDeleted, nil)
		}
		if !streamGone {
			if err := c.cs.Delete(ctx); err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrClosed) {
				c.rt.log.Warnf("JetStream: deleting consumer %q state: %v", c.name, err)
			}
		}
		return
	}
	c.mu.Lock()
	c.persistLocked()
	c.mu.Unlock()
	c.cs.Close(ctx)
}

// DeleteConsumer removes a consumer of s.
func (s *Stream) DeleteConsumer(name string) error {
	c := s.cons.remove(name)
	if c == nil {
		return jserr.NewConsumerNotFoundError()
	}
	c.stop(true, false)
	s.rt.advisoryConsumerAction(s.acc, s.name, name, "delete")
	s.afterConsumerGone()
	return nil
}

// deleteSelf removes a consumer that went inactive.
func (c *Consumer) deleteSelf() {
	if c.s.cons.removeIf(c) {
		c.stop(true, false)
		c.rt.advisoryConsumerAction(c.acc, c.s.name, c.name, "delete")
		c.s.afterConsumerGone()
	}
}

// LookupConsumer returns the named consumer of s.
func (s *Stream) LookupConsumer(name string) (*Consumer, error) {
	if c := s.cons.lookup(name); c != nil {
		return c, nil
	}
	return nil, jserr.NewConsumerNotFoundError()
}

// Consumers returns the consumers of s sorted by name.
func (s *Stream) Consumers() []*Consumer {
	out := s.cons.list()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Info builds the consumer's info document.
func (c *Consumer) Info() *jsapi.ConsumerInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.infoLocked(time.Now())
}

func (c *Consumer) infoLocked(now time.Time) *jsapi.ConsumerInfo {
	c.syncPendingLocked()
	cfg := c.reportedConfig()
	info := &jsapi.ConsumerInfo{
		Stream: c.s.name, Name: c.name, Created: c.created, Config: &cfg,
		Delivered:     jsapi.SequenceInfo{Consumer: c.dseq, Stream: c.dsseq, Last: optTime(c.lastDelivered)},
		AckFloor:      jsapi.SequenceInfo{Consumer: c.adflr, Stream: c.asflr, Last: optTime(c.lastAck)},
		NumAckPending: len(c.pending), NumWaiting: len(c.waiting), NumPending: c.npc,
		TimeStamp: now.UTC(),
	}
	for _, p := range c.pending {
		if p.dc > 1 {
			info.NumRedelivered++
		}
	}
	info.NumRedelivered += len(c.maxed)
	if c.cfg.IsPush() {
		was := c.push.bound
		c.refreshBoundLocked(now)
		if c.push.bound && !was {
			c.kick()
		}
		info.PushBound = c.push.bound
	}
	if c.paused {
		info.Paused = true
		info.PauseRemaining = c.pauseUntil.Sub(now)
	}
	info.PriorityGroups = c.groupStatesLocked()
	return info
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// reportedConfig adds the server-managed metadata the reference reports.
func (c *Consumer) reportedConfig() jsapi.ConsumerConfig {
	cfg := c.cfg.Clone()
	md := make(map[string]string, len(cfg.Metadata)+3)
	for k, v := range cfg.Metadata {
		md[k] = v
	}
	md["_nats.ver"] = server.ProtocolVersion
	md["_nats.level"] = fmt.Sprint(APILevel)
	lvl := 0
	if cfg.PauseUntil != nil || cfg.PriorityPolicy != jsapi.PriorityNone {
		lvl = 1
	}
	md["_nats.req.level"] = fmt.Sprint(lvl)
	cfg.Metadata = md
	return cfg
}

func (c *Consumer) isPaused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paused
}

// Pause pauses the consumer until t, or resumes it when t is zero or past.
func (c *Consumer) Pause(t time.Time) *jsapi.ConsumerPauseResponse {
	c.mu.Lock()
	cfg := c.cfg.Clone()
	if t.IsZero() {
		cfg.PauseUntil = nil
	} else {
		u := t.UTC()
		cfg.PauseUntil = &u
	}
	c.mu.Unlock()
	if err := c.updateConfig(c.rt.ctx, cfg); err != nil {
		return &jsapi.ConsumerPauseResponse{APIResponse: jsapi.APIResponse{Error: jserr.From(err)}}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := &jsapi.ConsumerPauseResponse{Paused: c.paused}
	if cfg.PauseUntil != nil {
		resp.PauseUntil = *cfg.PauseUntil
	}
	if c.paused {
		resp.PauseRemaining = time.Until(c.pauseUntil)
	}
	c.rt.advisoryPause(c.acc, c.s.name, c.name, c.paused, cfg.PauseUntil)
	return resp
}

// Reset moves the consumer's start to seq (0: just past the ack floor),
// dropping everything pending, as CONSUMER.RESET does.
func (c *Consumer) Reset(seq uint64) (*jsapi.ConsumerInfo, uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq == 0 {
		seq = c.asflr + 1
	}
	st, err := c.s.st.FastState(c.rt.ctx)
	if err != nil {
		return nil, 0, jserr.NewConsumerInvalidResetError(err)
	}
	c.pending = map[uint64]pendingMsg{}
	c.maxed = nil
	c.rdq, c.lss = nil, nil
	c.lastDelivered = time.Time{}
	c.sseq = max(seq, st.FirstSeq, 1)
	c.dseq, c.adflr = 0, 0
	c.dsseq, c.asflr = c.sseq-1, c.sseq-1
	state := store.ConsumerState{Delivered: store.SeqPair{Consumer: c.dseq, Stream: c.dsseq},
		AckFloor: store.SeqPair{Consumer: c.adflr, Stream: c.asflr}}
	if err := c.cs.Update(c.rt.ctx, state); err != nil {
		return nil, 0, jserr.NewConsumerInvalidResetError(err)
	}
	c.dirty = false
	c.recountLocked()
	c.kick()
	return c.infoLocked(time.Now()), c.sseq, nil
}
