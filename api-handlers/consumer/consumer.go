// Package consumer is the consumer API family: the CONSUMER.CREATE forms,
// CONSUMER.DURABLE.CREATE, INFO, NAMES, LIST, DELETE, PAUSE, UNPIN, RESET,
// the pull endpoint MSG.NEXT, and the single-server answer to
// LEADER.STEPDOWN.
package consumer

import (
	"context"
	"strings"

	"github.com/hangar-mq/hangar/core/jetstream"
	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
)

func init() {
	jetstream.RegisterFamily(jetstream.FamilyInfo{ID: "api.consumer", New: func(rt *jetstream.Runtime) (jsapi.Family, error) {
		return &family{rt: rt}, nil
	}})
}

// Page sizes of the reference.
const (
	namesPage = 1024
	listPage  = 256
)

type family struct{ rt *jetstream.Runtime }

func (f *family) ID() string { return "api.consumer" }

func (f *family) Endpoints() []jsapi.Endpoint {
	return []jsapi.Endpoint{
		{Pattern: "CONSUMER.CREATE.*", Type: jsapi.ConsumerCreateResponseType, Handle: f.createEphemeral},
		{Pattern: "CONSUMER.CREATE.*.*", Type: jsapi.ConsumerCreateResponseType, Handle: f.create},
		{Pattern: "CONSUMER.CREATE.*.*.>", Type: jsapi.ConsumerCreateResponseType, Handle: f.create},
		{Pattern: "CONSUMER.DURABLE.CREATE.*.*", Type: jsapi.ConsumerCreateResponseType, Handle: f.createDurable},
		{Pattern: "CONSUMER.NAMES.*", Type: jsapi.ConsumerNamesResponseType, Handle: f.names},
		{Pattern: "CONSUMER.LIST.*", Type: jsapi.ConsumerListResponseType, Handle: f.list},
		{Pattern: "CONSUMER.INFO.*.*", Type: jsapi.ConsumerInfoResponseType, Handle: f.info},
		{Pattern: "CONSUMER.DELETE.*.*", Type: jsapi.ConsumerDeleteResponseType, Handle: f.delete},
		{Pattern: "CONSUMER.PAUSE.*.*", Type: jsapi.ConsumerPauseResponseType, Handle: f.pause},
		{Pattern: "CONSUMER.UNPIN.*.*", Type: jsapi.ConsumerUnpinResponseType, Handle: f.unpin},
		{Pattern: "CONSUMER.RESET.*.*", Type: jsapi.ConsumerResetResponseType, Handle: f.reset},
		{Pattern: "CONSUMER.LEADER.STEPDOWN.*.*", Type: jsapi.ConsumerStepDownType, Handle: f.stepdown},
		// Pull requests are the consumers' hot path: they are only queued
		// on the consumer, so they run on the requester's goroutine.
		{Pattern: "CONSUMER.MSG.NEXT.*.*", Inline: true, Handle: f.next},
	}
}

// decodeCreate decodes a create request and checks its stream name.
func (f *family) decodeCreate(r *jsapi.Request, stream string) (jsapi.CreateConsumerRequest, error) {
	var req jsapi.CreateConsumerRequest
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return req, err
	}
	if req.Stream != stream {
		return req, jserr.NewStreamMismatchError()
	}
	return req, nil
}

func (f *family) doCreate(ctx context.Context, r *jsapi.Request, stream string, req *jsapi.CreateConsumerRequest) (jsapi.Response, error) {
	s, err := f.rt.LookupStream(r.Account, stream)
	if err != nil {
		return nil, err
	}
	info, err := s.AddConsumer(ctx, req.Config, req.Action)
	if err != nil {
		return nil, err
	}
	return &jsapi.ConsumerCreateResponse{ConsumerInfo: info}, nil
}

// createEphemeral serves the legacy CONSUMER.CREATE.<stream>.
func (f *family) createEphemeral(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	stream := r.Tokens[2]
	req, err := f.decodeCreate(r, stream)
	if err != nil {
		return nil, err
	}
	if req.Config.Durable != "" {
		return nil, jserr.NewConsumerEphemeralWithDurableNameError()
	}
	return f.doCreate(ctx, r, stream, &req)
}

// create serves CONSUMER.CREATE.<stream>.<consumer>[.<filter>].
func (f *family) create(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	stream, name := r.Tokens[2], r.Tokens[3]
	req, err := f.decodeCreate(r, stream)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(name, `\/`) {
		return nil, jserr.NewConsumerNameContainsPathSeparatorsError()
	}
	cfg := &req.Config
	if cfg.Durable != "" && cfg.Durable != name {
		return nil, jserr.NewConsumerDurableNameNotMatchSubjectError()
	}
	if len(r.Tokens) > 4 {
		if len(cfg.FilterSubjects) > 0 {
			return nil, jserr.NewConsumerMultipleFiltersNotAllowedError()
		}
		if filter := strings.Join(r.Tokens[4:], "."); cfg.FilterSubject != filter {
			return nil, jserr.NewConsumerCreateFilterSubjectMismatchError()
		}
	}
	cfg.Name = name
	return f.doCreate(ctx, r, stream, &req)
}

// createDurable serves the legacy CONSUMER.DURABLE.CREATE.<stream>.<consumer>.
func (f *family) createDurable(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	stream, name := r.Tokens[3], r.Tokens[4]
	req, err := f.decodeCreate(r, stream)
	if err != nil {
		return nil, err
	}
	switch req.Config.Durable {
	case "":
		return nil, jserr.NewConsumerDurableNameNotSetError()
	case name:
	default:
		return nil, jserr.NewConsumerDurableNameNotMatchSubjectError()
	}
	req.Config.Name = name
	return f.doCreate(ctx, r, stream, &req)
}

func (f *family) lookup(r *jsapi.Request) (*jetstream.Consumer, error) {
	s, err := f.rt.LookupStream(r.Account, r.Tokens[2])
	if err != nil {
		return nil, err
	}
	return s.LookupConsumer(r.Tokens[3])
}

func (f *family) names(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	resp := &jsapi.ConsumerNamesResponse{Consumers: []string{}}
	var req jsapi.ConsumersRequest
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return resp, err
	}
	s, err := f.rt.LookupStream(r.Account, r.Tokens[2])
	if err != nil {
		return resp, err
	}
	cs := s.Consumers()
	resp.Total, resp.Offset, resp.Limit = len(cs), min(max(req.Offset, 0), len(cs)), namesPage
	for i := max(req.Offset, 0); i < len(cs) && len(resp.Consumers) < namesPage; i++ {
		resp.Consumers = append(resp.Consumers, cs[i].Name())
	}
	return resp, nil
}

func (f *family) list(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	resp := &jsapi.ConsumerListResponse{Consumers: []*jsapi.ConsumerInfo{}}
	var req jsapi.ConsumersRequest
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return resp, err
	}
	s, err := f.rt.LookupStream(r.Account, r.Tokens[2])
	if err != nil {
		return resp, err
	}
	cs := s.Consumers()
	resp.Total, resp.Offset, resp.Limit = len(cs), min(max(req.Offset, 0), len(cs)), listPage
	for i := max(req.Offset, 0); i < len(cs) && len(resp.Consumers) < listPage; i++ {
		resp.Consumers = append(resp.Consumers, cs[i].Info())
	}
	return resp, nil
}

func (f *family) info(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	if !jetstream.IsEmptyRequest(r.Body) {
		return nil, jserr.NewNotEmptyRequestError()
	}
	c, err := f.lookup(r)
	if err != nil {
		return nil, err
	}
	return &jsapi.ConsumerInfoResponse{ConsumerInfo: c.Info()}, nil
}

func (f *family) delete(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	if !jetstream.IsEmptyRequest(r.Body) {
		return nil, jserr.NewNotEmptyRequestError()
	}
	s, err := f.rt.LookupStream(r.Account, r.Tokens[2])
	if err != nil {
		return nil, err
	}
	if err := s.DeleteConsumer(r.Tokens[3]); err != nil {
		return nil, err
	}
	return &jsapi.SuccessResponse{Success: true}, nil
}

func (f *family) pause(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	var req jsapi.ConsumerPauseRequest
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return &jsapi.ConsumerPauseResponse{}, err
	}
	c, err := f.lookup(r)
	if err != nil {
		return &jsapi.ConsumerPauseResponse{}, err
	}
	return c.Pause(req.PauseUntil), nil
}

func (f *family) unpin(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	if len(r.Body) == 0 {
		return nil, jserr.NewInvalidJSONError("unexpected end of JSON input")
	}
	var req jsapi.ConsumerUnpinRequest
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return nil, err
	}
	c, err := f.lookup(r)
	if err != nil {
		return nil, err
	}
	if err := c.Unpin(req.Group); err != nil {
		return nil, err
	}
	return &jsapi.APIResponse{}, nil
}

// reset answers only when the consumer exists: like MSG.NEXT it is served
// by the consumer itself in the reference.
func (f *family) reset(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	c, err := f.lookup(r)
	if err != nil {
		return nil, nil
	}
	var req jsapi.ConsumerResetRequest
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return nil, err
	}
	info, seq, err := c.Reset(req.Seq)
	if err != nil {
		return nil, err
	}
	return &jsapi.ConsumerResetResponse{ConsumerInfo: info, ResetSeq: seq}, nil
}

// stepdown: a standalone server has no consumer group to move.
func (f *family) stepdown(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	return nil, jserr.NewClusterRequiredError()
}

// next queues a pull request. Requests for unknown consumers get no
// answer, as from the reference.
func (f *family) next(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	s, err := f.rt.LookupStream(r.Account, r.Tokens[3])
	if err != nil {
		return nil, nil
	}
	c, err := s.LookupConsumer(r.Tokens[4])
	if err != nil {
		return nil, nil
	}
	c.ProcessNext(r.Reply, r.Body)
	return nil, nil
}
