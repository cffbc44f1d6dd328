package jetstream

import (
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/server"
)

// Consumer advisory and metric types.
const (
	consumerPauseType    = advTypePrefix + "consumer_pause"
	consumerPinnedType   = advTypePrefix + "consumer_group_pinned"
	consumerUnpinnedType = advTypePrefix + "consumer_group_unpinned"
	maxDeliverType       = advTypePrefix + "max_deliver"
	nakType              = advTypePrefix + "nak"
	terminatedType       = advTypePrefix + "terminated"
	ackMetricType        = "io.nats.jetstream.metric.v1.consumer_ack"
)

type consumerPauseAdvisory struct {
	typedEvent
	Stream     string    `json:"stream"`
	Consumer   string    `json:"consumer"`
	Paused     bool      `json:"paused"`
	PauseUntil time.Time `json:"pause_until,omitempty"`
	Domain     string    `json:"domain,omitempty"`
}

func (rt *Runtime) advisoryPause(a *server.Account, stream, consumer string, paused bool, until *time.Time) {
	adv := consumerPauseAdvisory{typedEvent: newEvent(consumerPauseType), Stream: stream, Consumer: consumer, Paused: paused, Domain: rt.cfg.Domain}
	if until != nil {
		adv.PauseUntil = *until
	}
	rt.publishAdvisory(a, jsapi.AdvisoryPrefix+"CONSUMER.PAUSE."+stream+"."+consumer, adv)
}

type consumerPinAdvisory struct {
	typedEvent
	Account  string `json:"account"`
	Stream   string `json:"stream"`
	Consumer string `json:"consumer"`
	Domain   string `json:"domain,omitempty"`
	Group    string `json:"group"`
	PinnedID string `json:"pinned_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

func (rt *Runtime) advisoryPinned(a *server.Account, stream, consumer, group, id string) {
	rt.publishAdvisory(a, jsapi.AdvisoryPrefix+"CONSUMER.PINNED."+stream+"."+consumer, consumerPinAdvisory{
		typedEvent: newEvent(consumerPinnedType), Account: a.Name, Stream: stream, Consumer: consumer,
		Domain: rt.cfg.Domain, Group: group, PinnedID: id})
}

func (rt *Runtime) advisoryUnpinned(a *server.Account, stream, consumer, group, reason string) {
	rt.publishAdvisory(a, jsapi.AdvisoryPrefix+"CONSUMER.UNPINNED."+stream+"."+consumer, consumerPinAdvisory{
		typedEvent: newEvent(consumerUnpinnedType), Account: a.Name, Stream: stream, Consumer: consumer,
		Domain: rt.cfg.Domain, Group: group, Reason: reason})
}

type maxDeliverAdvisory struct {
	typedEvent
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
	Domain     string `json:"domain,omitempty"`
}

func (rt *Runtime) advisoryMaxDeliver(a *server.Account, stream, consumer string, sseq, dc uint64) {
	rt.publishAdvisory(a, jsapi.AdvisoryPrefix+"CONSUMER.MAX_DELIVERIES."+stream+"."+consumer, maxDeliverAdvisory{
		typedEvent: newEvent(maxDeliverType), Stream: stream, Consumer: consumer, StreamSeq: sseq, Deliveries: dc, Domain: rt.cfg.Domain})
}

type ackEventAdvisory struct {
	typedEvent
	Stream      string `json:"stream"`
	Consumer    string `json:"consumer"`
	ConsumerSeq uint64 `json:"consumer_seq"`
	StreamSeq   uint64 `json:"stream_seq"`
	Deliveries  uint64 `json:"deliveries"`
	Reason      string `json:"reason,omitempty"`
	Domain      string `json:"domain,omitempty"`
}

func (rt *Runtime) advisoryNak(a *server.Account, stream, consumer string, dseq, sseq, dc uint64) {
	rt.publishAdvisory(a, jsapi.AdvisoryPrefix+"CONSUMER.MSG_NAKED."+stream+"."+consumer, ackEventAdvisory{
		typedEvent: newEvent(nakType), Stream: stream, Consumer: consumer, ConsumerSeq: dseq, StreamSeq: sseq, Deliveries: dc, Domain: rt.cfg.Domain})
}

func (rt *Runtime) advisoryTerminated(a *server.Account, stream, consumer string, dseq, sseq, dc uint64, reason string) {
	rt.publishAdvisory(a, jsapi.AdvisoryPrefix+"CONSUMER.MSG_TERMINATED."+stream+"."+consumer, ackEventAdvisory{
		typedEvent: newEvent(terminatedType), Stream: stream, Consumer: consumer, ConsumerSeq: dseq, StreamSeq: sseq, Deliveries: dc, Reason: reason, Domain: rt.cfg.Domain})
}

type ackMetric struct {
	typedEvent
	Stream      string `json:"stream"`
	Consumer    string `json:"consumer"`
	ConsumerSeq uint64 `json:"consumer_seq"`
	StreamSeq   uint64 `json:"stream_seq"`
	Delay       int64  `json:"ack_time"`
	Deliveries  uint64 `json:"deliveries"`
	Domain      string `json:"domain,omitempty"`
}

func (rt *Runtime) advisoryAckMetric(a *server.Account, stream, consumer string, dseq, sseq uint64, delay int64, dc uint64) {
	rt.publishAdvisory(a, jsapi.MetricPrefix+"CONSUMER.ACK."+stream+"."+consumer, ackMetric{
		typedEvent: newEvent(ackMetricType), Stream: stream, Consumer: consumer, ConsumerSeq: dseq, StreamSeq: sseq,
		Delay: delay, Deliveries: dc, Domain: rt.cfg.Domain})
}
