package jetstream

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/subject"
)

// errBadGet marks a get request with conflicting options.
var errBadGet = errors.New("bad request")

// maxMultiLast caps multi_last results, as the reference does.
const maxMultiLast = 1024

// GetMsg answers a single-message get (STREAM.MSG.GET, or DIRECT.GET
// without batch or multi_last).
func (s *Stream) GetMsg(ctx context.Context, req *jsapi.MsgGetRequest) (store.Msg, error) {
	switch {
	case req.Seq > 0 && req.LastFor != "":
		return store.Msg{}, errBadGet
	case req.LastFor != "" && req.NextFor != "":
		return store.Msg{}, errBadGet
	case req.StartTime != nil && (req.Seq > 0 || req.LastFor != ""):
		return store.Msg{}, errBadGet
	}
	switch {
	case req.LastFor != "":
		if !subject.Valid(req.LastFor) {
			return store.Msg{}, errBadGet
		}
		return s.st.LoadLast(ctx, req.LastFor)
	case req.NextFor != "" || req.StartTime != nil:
		start := req.Seq
		if req.StartTime != nil {
			q, err := s.st.SeqFromTime(ctx, req.StartTime.UnixNano())
			if err != nil {
				return store.Msg{}, err
			}
			start = q
		}
		if start == 0 {
			start = 1
		}
		var filters []string
		if req.NextFor != "" {
			if !subject.Valid(req.NextFor) {
				return store.Msg{}, errBadGet
			}
			filters = []string{req.NextFor}
		}
		return s.st.LoadNext(ctx, filters, start)
	case req.Seq > 0:
		return s.st.Load(ctx, req.Seq)
	}
	return store.Msg{}, errBadGet
}

// MsgGetError maps a get failure to the STREAM.MSG.GET API error.
func MsgGetError(err error) error {
	switch {
	case errors.Is(err, errBadGet):
		return jserr.NewBadRequestError()
	case store.IsMissing(err):
		return jserr.NewNoMessageFoundError()
	}
	return jserr.NewStreamGeneralErrorError(err)
}

// DirectGet answers DIRECT.GET: one message, a batch, or the last message
// of several subjects, each as a raw reply with the reference's headers,
// ending batches with a 204 EOB status. Errors are statuses too.
func (s *Stream) DirectGet(ctx context.Context, req *jsapi.MsgGetRequest, respond func(hdr, data []byte)) {
	if req.Batch > 0 || len(req.MultiLastFor) > 0 {
		s.directBatch(ctx, req, respond)
		return
	}
	if req.UpToSeq > 0 || req.UpToTime != nil {
		respond(statusHdr("408 Bad Request"), nil)
		return
	}
	m, err := s.GetMsg(ctx, req)
	if err != nil {
		respond(directErr(err), nil)
		return
	}
	respond(s.directHeader(&m, req.NoHeaders, nil), m.Data)
}

func directErr(err error) []byte {
	switch {
	case errors.Is(err, errBadGet):
		return statusHdr("408 Bad Request")
	case store.IsMissing(err):
		return statusHdr("404 Message Not Found")
	}
	return statusHdr("500 " + err.Error())
}

// directHeader builds a direct-get reply header: the message's own headers
// (unless noHdr) followed by the Nats-* description and extra pairs.
func (s *Stream) directHeader(m *store.Msg, noHdr bool, extra []string) []byte {
	orig := m.Header
	if noHdr {
		orig = nil
	}
	kv := []string{
		hdrStream, s.name,
		hdrSubject, m.Subject,
		hdrSequence, strconv.FormatUint(m.Seq, 10),
		hdrTimeStamp, time.Unix(0, m.Time).UTC().Format(time.RFC3339Nano),
	}
	kv = append(kv, extra...)
	return appendHeaders(orig, kv...)
}

func (s *Stream) directBatch(ctx context.Context, req *jsapi.MsgGetRequest, respond func(hdr, data []byte)) {
	maxBytes := req.MaxBytes
	if maxBytes <= 0 {
		maxBytes = int(s.rt.srv.Options().MaxPending)
	}
	if len(req.MultiLastFor) > 0 {
		s.directMultiLast(ctx, req, maxBytes, respond)
		return
	}
	if req.LastFor != "" {
		respond(statusHdr("408 Bad Request"), nil)
		return
	}
	start := req.Seq
	if req.StartTime != nil {
		q, err := s.st.SeqFromTime(ctx, req.StartTime.UnixNano())
		if err != nil {
			respond(directErr(err), nil)
			return
		}
		start = q
	}
	if start == 0 {
		start = 1
	}
	var filters []string
	if req.NextFor != "" {
		if !subject.Valid(req.NextFor) {
			respond(statusHdr("408 Bad Request"), nil)
			return
		}
		filters = []string{req.NextFor}
	}
	end := req.UpToSeq
	msgs, err := s.st.LoadRange(ctx, store.RangeRequest{Start: start, End: end, Filters: filters, MaxMsgs: req.Batch, MaxBytes: maxBytes})
	if err != nil || len(msgs) == 0 {
		if err == nil || store.IsMissing(err) {
			respond(statusHdr("404 No Results"), nil)
		} else {
			respond(directErr(err), nil)
		}
		return
	}
	var lastSent uint64
	for i := range msgs {
		m := &msgs[i]
		pending, _, _ := s.st.NumPending(ctx, m.Seq+1, filters, false)
		respond(s.directHeader(m, req.NoHeaders, []string{
			hdrNumPending, strconv.FormatUint(pending, 10),
			hdrLastSequence, strconv.FormatUint(lastSent, 10),
		}), m.Data)
		lastSent = m.Seq
	}
	pending, _, _ := s.st.NumPending(ctx, lastSent+1, filters, false)
	respond(appendHeaders([]byte("NATS/1.0 204 EOB\r\n\r\n"),
		hdrNumPending, strconv.FormatUint(pending, 10),
		hdrLastSequence, strconv.FormatUint(lastSent, 10)), nil)
}

func (s *Stream) directMultiLast(ctx context.Context, req *jsapi.MsgGetRequest, maxBytes int, respond func(hdr, data []byte)) {
	if req.Seq > 0 || req.LastFor != "" || req.NextFor != "" || req.StartTime != nil {
		respond(statusHdr("408 Bad Request"), nil)
		return
	}
	for _, f := range req.MultiLastFor {
		if !subject.Valid(f) {
			respond(statusHdr("408 Bad Request"), nil)
			return
		}
	}
	upTo := req.UpToSeq
	if req.UpToTime != nil {
		q, err := s.st.SeqFromTime(ctx, req.UpToTime.UnixNano())
		if err != nil {
			respond(directErr(err), nil)
			return
		}
		if q == 0 {
			respond(statusHdr("404 No Results"), nil)
			return
		}
		upTo = q - 1
	}
	if upTo == 0 {
		upTo = s.lastSeq.Load()
	}
	seqs, err := s.st.MultiLastSeqs(ctx, req.MultiLastFor, upTo, maxMultiLast)
	if errors.Is(err, store.ErrTooManyResults) {
		respond(statusHdr("413 Too Many Results"), nil)
		return
	}
	if err != nil || len(seqs) == 0 {
		respond(statusHdr("404 No Results"), nil)
		return
	}
	if req.Batch > 0 && len(seqs) > req.Batch {
		seqs = seqs[:req.Batch]
	}
	sent, size := 0, 0
	var lastSent uint64
	for i, q := range seqs {
		m, err := s.st.Load(ctx, q)
		if err != nil {
			continue
		}
		size += len(m.Header) + len(m.Data)
		if sent > 0 && size > maxBytes {
			break
		}
		respond(s.directHeader(&m, req.NoHeaders, []string{
			hdrNumPending, strconv.Itoa(len(seqs) - i - 1),
			hdrLastSequence, strconv.FormatUint(lastSent, 10),
		}), m.Data)
		lastSent = m.Seq
		sent++
	}
	respond(appendHeaders([]byte("NATS/1.0 204 EOB\r\n\r\n"),
		hdrNumPending, strconv.Itoa(len(seqs)-sent),
		hdrLastSequence, strconv.FormatUint(lastSent, 10),
		hdrUpToSequence, strconv.FormatUint(upTo, 10)), nil)
}

// StoredMsg converts a stored message to the STREAM.MSG.GET shape.
func StoredMsg(m *store.Msg) *jsapi.StoredMsg {
	return &jsapi.StoredMsg{Subject: m.Subject, Sequence: m.Seq, Header: m.Header, Data: m.Data, Time: time.Unix(0, m.Time).UTC()}
}

// AllowDirect reports whether the stream answers direct gets.
func (s *Stream) AllowDirect() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg.AllowDirect
}
