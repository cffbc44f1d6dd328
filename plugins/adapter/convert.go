package adapter

import (
	"time"

	"github.com/hangar-mq/hangar/core/store"
	storev1 "github.com/hangar-mq/hangar/proto/store/v1"
)

// The conversions below copy field by field; test/contract keeps the two
// sides' field lists equal, so a new field fails a test until it is added
// here too.

func cfgToProto(c store.StreamConfig) *storev1.StreamConfig {
	return &storev1.StreamConfig{
		Account: c.Account, Name: c.Name,
		Storage:              storev1.StorageType(c.Storage),
		MaxMsgs:              c.MaxMsgs,
		MaxBytes:             c.MaxBytes,
		MaxMsgsPerSubject:    c.MaxMsgsPerSubject,
		MaxAge:               int64(c.MaxAge),
		MaxMsgSize:           c.MaxMsgSize,
		Discard:              storev1.DiscardPolicy(c.Discard),
		DiscardNewPerSubject: c.DiscardNewPerSubject,
		FirstSeq:             c.FirstSeq,
		AllowMsgTtl:          c.AllowMsgTTL,
		Compression:          storev1.Compression(c.Compression),
		Meta:                 c.Meta,
	}
}

func cfgFromProto(c *storev1.StreamConfig) store.StreamConfig {
	return store.StreamConfig{
		Account: c.GetAccount(), Name: c.GetName(),
		Storage:              store.StorageType(c.GetStorage()),
		MaxMsgs:              c.GetMaxMsgs(),
		MaxBytes:             c.GetMaxBytes(),
		MaxMsgsPerSubject:    c.GetMaxMsgsPerSubject(),
		MaxAge:               time.Duration(c.GetMaxAge()),
		MaxMsgSize:           c.GetMaxMsgSize(),
		Discard:              store.DiscardPolicy(c.GetDiscard()),
		DiscardNewPerSubject: c.GetDiscardNewPerSubject(),
		FirstSeq:             c.GetFirstSeq(),
		AllowMsgTTL:          c.GetAllowMsgTtl(),
		Compression:          store.Compression(c.GetCompression()),
		Meta:                 c.GetMeta(),
	}
}

func msgToProto(m *store.Msg) *storev1.Msg {
	return &storev1.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data, Seq: m.Seq, Time: m.Time, Ttl: m.TTL}
}

func msgFromProto(m *storev1.Msg) store.Msg {
	return store.Msg{Subject: m.GetSubject(), Header: nilIfEmpty(m.GetHeader()), Data: nilIfEmpty(m.GetData()),
		Seq: m.GetSeq(), Time: m.GetTime(), TTL: m.GetTtl()}
}

// nilIfEmpty keeps the memory store's habit of returning nil for an absent
// header or payload: proto3 cannot tell nil from empty.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func newMsgsToProto(ms []store.NewMsg) []*storev1.NewMsg {
	out := make([]*storev1.NewMsg, len(ms))
	for i := range ms {
		m := &ms[i]
		out[i] = &storev1.NewMsg{Subject: m.Subject, Header: m.Header, Data: m.Data, Ttl: m.TTL}
	}
	return out
}

func newMsgsFromProto(ms []*storev1.NewMsg) []store.NewMsg {
	out := make([]store.NewMsg, len(ms))
	for i, m := range ms {
		out[i] = store.NewMsg{Subject: m.GetSubject(), Header: m.GetHeader(), Data: m.GetData(), TTL: m.GetTtl()}
	}
	return out
}

func resultsToProto(rs []store.StoreResult) []*storev1.StoreResult {
	out := make([]*storev1.StoreResult, len(rs))
	for i, r := range rs {
		out[i] = &storev1.StoreResult{Error: ErrToProto(r.Err), Seq: r.Seq, Time: r.Time}
	}
	return out
}

func resultsFromProto(rs []*storev1.StoreResult) []store.StoreResult {
	out := make([]store.StoreResult, len(rs))
	for i, r := range rs {
		out[i] = store.StoreResult{Err: ProtoToErr(r.GetError()), Seq: r.GetSeq(), Time: r.GetTime()}
	}
	return out
}

func stateToProto(s store.StreamState) *storev1.StreamState {
	out := &storev1.StreamState{
		Msgs: s.Msgs, Bytes: s.Bytes,
		FirstSeq: s.FirstSeq, FirstTime: s.FirstTime,
		LastSeq: s.LastSeq, LastTime: s.LastTime,
		NumSubjects: s.NumSubjects, NumDeleted: s.NumDeleted,
		Consumers: int64(s.Consumers),
	}
	if len(s.Deleted) > 0 {
		out.Deleted = make([]*storev1.Range, len(s.Deleted))
		for i, r := range s.Deleted {
			out.Deleted[i] = &storev1.Range{First: r.First, Last: r.Last}
		}
	}
	if s.Lost != nil {
		out.Lost = &storev1.LostData{Msgs: s.Lost.Msgs, Bytes: s.Lost.Bytes}
	}
	return out
}

func stateFromProto(s *storev1.StreamState) store.StreamState {
	out := store.StreamState{
		Msgs: s.GetMsgs(), Bytes: s.GetBytes(),
		FirstSeq: s.GetFirstSeq(), FirstTime: s.GetFirstTime(),
		LastSeq: s.GetLastSeq(), LastTime: s.GetLastTime(),
		NumSubjects: s.GetNumSubjects(), NumDeleted: s.GetNumDeleted(),
		Consumers: int(s.GetConsumers()),
	}
	if d := s.GetDeleted(); len(d) > 0 {
		out.Deleted = make([]store.Range, len(d))
		for i, r := range d {
			out.Deleted[i] = store.Range{First: r.GetFirst(), Last: r.GetLast()}
		}
	}
	if l := s.GetLost(); l != nil {
		out.Lost = &store.LostData{Msgs: l.GetMsgs(), Bytes: l.GetBytes()}
	}
	return out
}

func simpleToProto(s store.SimpleState) *storev1.SimpleState {
	return &storev1.SimpleState{Msgs: s.Msgs, First: s.First, Last: s.Last}
}

func simpleFromProto(s *storev1.SimpleState) store.SimpleState {
	return store.SimpleState{Msgs: s.GetMsgs(), First: s.GetFirst(), Last: s.GetLast()}
}

func capsToProto(c store.Capabilities) *storev1.Capabilities {
	return &storev1.Capabilities{Persistent: c.Persistent, SecureErase: c.SecureErase, Encryption: c.Encryption, Compression: c.Compression}
}

func capsFromProto(c *storev1.Capabilities) store.Capabilities {
	return store.Capabilities{Persistent: c.GetPersistent(), SecureErase: c.GetSecureErase(), Encryption: c.GetEncryption(), Compression: c.GetCompression()}
}

func consumerStateToProto(s store.ConsumerState) *storev1.ConsumerState {
	out := &storev1.ConsumerState{
		Delivered: &storev1.SeqPair{Consumer: s.Delivered.Consumer, Stream: s.Delivered.Stream},
		AckFloor:  &storev1.SeqPair{Consumer: s.AckFloor.Consumer, Stream: s.AckFloor.Stream},
	}
	if len(s.Pending) > 0 {
		out.Pending = make(map[uint64]*storev1.Pending, len(s.Pending))
		for k, p := range s.Pending {
			out.Pending[k] = &storev1.Pending{Sequence: p.Sequence, Timestamp: p.Timestamp}
		}
	}
	if len(s.Redelivered) > 0 {
		out.Redelivered = s.Redelivered
	}
	return out
}

func consumerStateFromProto(s *storev1.ConsumerState) store.ConsumerState {
	out := store.ConsumerState{
		Delivered: store.SeqPair{Consumer: s.GetDelivered().GetConsumer(), Stream: s.GetDelivered().GetStream()},
		AckFloor:  store.SeqPair{Consumer: s.GetAckFloor().GetConsumer(), Stream: s.GetAckFloor().GetStream()},
	}
	if p := s.GetPending(); len(p) > 0 {
		out.Pending = make(map[uint64]store.Pending, len(p))
		for k, v := range p {
			out.Pending[k] = store.Pending{Sequence: v.GetSequence(), Timestamp: v.GetTimestamp()}
		}
	}
	if r := s.GetRedelivered(); len(r) > 0 {
		out.Redelivered = r
	}
	return out
}

func expireToProto(r store.ExpireResult) *storev1.ExpireResult {
	return &storev1.ExpireResult{Msgs: r.Msgs, Bytes: r.Bytes, Emptied: r.Emptied, Next: r.Next}
}

func expireFromProto(r *storev1.ExpireResult) store.ExpireResult {
	return store.ExpireResult{Msgs: r.GetMsgs(), Bytes: r.GetBytes(), Emptied: r.GetEmptied(), Next: r.GetNext()}
}
