// Package stream is the stream API family: STREAM.CREATE, UPDATE, DELETE,
// INFO, LIST, NAMES, PURGE, MSG.GET, MSG.DELETE, SNAPSHOT, RESTORE and the
// single-server answers to LEADER.STEPDOWN and PEER.REMOVE.
package stream

import (
	"context"
	"strings"

	"github.com/hangar-mq/hangar/core/jetstream"
	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
)

func init() {
	jetstream.RegisterFamily(jetstream.FamilyInfo{ID: "api.stream", New: func(rt *jetstream.Runtime) (jsapi.Family, error) {
		return &family{rt: rt}, nil
	}})
}

// Page sizes of the reference.
const (
	namesPage = 1024
	listPage  = 256
	// subjectsPage caps the per-subject map of STREAM.INFO.
	subjectsPage = 100_000
)

type family struct{ rt *jetstream.Runtime }

func (f *family) ID() string { return "api.stream" }

func (f *family) Endpoints() []jsapi.Endpoint {
	return []jsapi.Endpoint{
		{Pattern: "STREAM.CREATE.*", Type: jsapi.StreamCreateResponseType, Handle: f.create},
		{Pattern: "STREAM.UPDATE.*", Type: jsapi.StreamUpdateResponseType, Handle: f.update},
		{Pattern: "STREAM.NAMES", Type: jsapi.StreamNamesResponseType, Handle: zeroOnError(f.names, func() jsapi.Response { return &jsapi.StreamNamesResponse{} })},
		{Pattern: "STREAM.LIST", Type: jsapi.StreamListResponseType, Handle: zeroOnError(f.list, func() jsapi.Response { return &jsapi.StreamListResponse{} })},
		{Pattern: "STREAM.INFO.*", Type: jsapi.StreamInfoResponseType, Handle: zeroOnError(f.info, func() jsapi.Response { return &jsapi.StreamInfoResponse{} })},
		{Pattern: "STREAM.DELETE.*", Type: jsapi.StreamDeleteResponseType, Handle: f.delete},
		{Pattern: "STREAM.PURGE.*", Type: jsapi.StreamPurgeResponseType, Handle: zeroOnError(f.purge, func() jsapi.Response { return &jsapi.StreamPurgeResponse{} })},
		{Pattern: "STREAM.MSG.GET.*", Type: jsapi.MsgGetResponseType, Handle: f.msgGet},
		{Pattern: "STREAM.MSG.DELETE.*", Type: jsapi.MsgDeleteResponseType, Handle: f.msgDelete},
		{Pattern: "STREAM.SNAPSHOT.*", Type: jsapi.SnapshotResponseType, Handle: f.snapshot},
		{Pattern: "STREAM.RESTORE.*", Type: jsapi.RestoreResponseType, Handle: f.restore},
		{Pattern: "STREAM.LEADER.STEPDOWN.*", Type: jsapi.StreamStepDownType, Handle: f.stepdown},
		{Pattern: "STREAM.PEER.REMOVE.*", Type: jsapi.StreamRemovePeerType, Handle: f.peerRemove},
	}
}

// zeroOnError answers a failure with the endpoint's own reply type, so
// its always-present fields (paging, purged) appear as the reference
// sends them.
func zeroOnError(h jsapi.Handler, zero func() jsapi.Response) jsapi.Handler {
	return func(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
		resp, err := h(ctx, r)
		if err != nil && resp == nil {
			resp = zero()
		}
		return resp, err
	}
}

// streamToken is the stream name in the request subject.
func streamToken(r *jsapi.Request) string { return r.Tokens[len(r.Tokens)-1] }

func (f *family) decodeConfig(r *jsapi.Request) (jsapi.StreamCreateRequest, error) {
	var req jsapi.StreamCreateRequest
	if len(r.Body) == 0 {
		return req, jserr.NewInvalidJSONError("unexpected end of JSON input")
	}
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return req, err
	}
	name := streamToken(r)
	if req.Name == "" {
		req.Name = name
	}
	if req.Name != name {
		return req, jserr.NewStreamMismatchError()
	}
	return req, nil
}

func (f *family) create(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	name := streamToken(r)
	if strings.ContainsAny(name, `\/`) {
		return nil, jserr.NewStreamNameContainsPathSeparatorsError()
	}
	req, err := f.decodeConfig(r)
	if err != nil {
		return nil, err
	}
	info, _, err := f.rt.CreateStream(ctx, r.Account, req.StreamConfig, req.Pedantic)
	if err != nil {
		return nil, err
	}
	// The reference reports did_create on an identical re-create too.
	return &jsapi.StreamCreateResponse{StreamInfo: info, DidCreate: true}, nil
}

func (f *family) update(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	req, err := f.decodeConfig(r)
	if err != nil {
		return nil, err
	}
	info, err := f.rt.UpdateStream(ctx, r.Account, req.StreamConfig, req.Pedantic)
	if err != nil {
		return nil, err
	}
	return &jsapi.StreamCreateResponse{StreamInfo: info}, nil
}

func (f *family) names(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	var req jsapi.StreamNamesRequest
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return nil, err
	}
	streams, err := f.rt.Streams(r.Account, req.Subject)
	if err != nil {
		return nil, err
	}
	resp := &jsapi.StreamNamesResponse{}
	off := min(max(req.Offset, 0), len(streams))
	resp.Total, resp.Offset, resp.Limit = len(streams), off, namesPage
	for i := off; i < len(streams) && len(resp.Streams) < namesPage; i++ {
		resp.Streams = append(resp.Streams, streams[i].Name())
	}
	return resp, nil
}

func (f *family) list(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	var req jsapi.StreamListRequest
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return nil, err
	}
	streams, err := f.rt.Streams(r.Account, req.Subject)
	if err != nil {
		return nil, err
	}
	resp := &jsapi.StreamListResponse{Streams: []*jsapi.StreamInfo{}}
	off := min(max(req.Offset, 0), len(streams))
	resp.Total, resp.Offset, resp.Limit = len(streams), off, listPage
	for i := off; i < len(streams) && len(resp.Streams) < listPage; i++ {
		info, _, err := streams[i].Info(ctx, nil)
		if err != nil {
			resp.Missing = append(resp.Missing, streams[i].Name())
			continue
		}
		resp.Streams = append(resp.Streams, info)
	}
	return resp, nil
}

func (f *family) info(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	var req jsapi.StreamInfoRequest
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return &jsapi.StreamInfoResponse{}, err
	}
	s, err := f.rt.LookupStream(r.Account, streamToken(r))
	if err != nil {
		return &jsapi.StreamInfoResponse{}, err
	}
	info, total, err := s.Info(ctx, &req)
	if err != nil {
		return &jsapi.StreamInfoResponse{}, err
	}
	resp := &jsapi.StreamInfoResponse{StreamInfo: info}
	if req.SubjectsFilter != "" {
		resp.Total, resp.Offset, resp.Limit = total, max(req.Offset, 0), subjectsPage
	}
	return resp, nil
}

func (f *family) delete(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	if !jetstream.IsEmptyRequest(r.Body) {
		return nil, jserr.NewNotEmptyRequestError()
	}
	if err := f.rt.DeleteStream(ctx, r.Account, streamToken(r)); err != nil {
		return nil, err
	}
	return &jsapi.SuccessResponse{Success: true}, nil
}

func (f *family) purge(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	var req jsapi.StreamPurgeRequest
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return nil, err
	}
	s, err := f.rt.LookupStream(r.Account, streamToken(r))
	if err != nil {
		return nil, err
	}
	n, err := s.Purge(ctx, req)
	if err != nil {
		return nil, err
	}
	return &jsapi.StreamPurgeResponse{Success: true, Purged: n}, nil
}

func (f *family) msgGet(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	var req jsapi.MsgGetRequest
	if len(r.Body) == 0 {
		return nil, jserr.NewBadRequestError()
	}
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return nil, err
	}
	s, err := f.rt.LookupStream(r.Account, streamToken(r))
	if err != nil {
		return nil, err
	}
	if req.Batch > 0 || len(req.MultiLastFor) > 0 || req.UpToSeq > 0 || req.UpToTime != nil || req.NoHeaders {
		return nil, jserr.NewBadRequestError()
	}
	m, err := s.GetMsg(ctx, &req)
	if err != nil {
		return nil, jetstream.MsgGetError(err)
	}
	return &jsapi.MsgGetResponse{Message: jetstream.StoredMsg(&m)}, nil
}

func (f *family) msgDelete(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	var req jsapi.MsgDeleteRequest
	if len(r.Body) == 0 {
		return nil, jserr.NewBadRequestError()
	}
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return nil, err
	}
	s, err := f.rt.LookupStream(r.Account, streamToken(r))
	if err != nil {
		return nil, err
	}
	if err := s.DeleteMsg(ctx, req.Seq, req.NoErase); err != nil {
		return nil, err
	}
	return &jsapi.SuccessResponse{Success: true}, nil
}

func (f *family) snapshot(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	var req jsapi.SnapshotRequest
	if len(r.Body) == 0 {
		return nil, jserr.NewBadRequestError()
	}
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return nil, err
	}
	s, err := f.rt.LookupStream(r.Account, streamToken(r))
	if err != nil {
		return nil, err
	}
	resp, err := s.StartSnapshot(ctx, &req, r.Client)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (f *family) restore(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	var req jsapi.RestoreRequest
	if len(r.Body) == 0 {
		return nil, jserr.NewBadRequestError()
	}
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		return nil, err
	}
	name := streamToken(r)
	if req.Config.Name == "" {
		req.Config.Name = name
	}
	if req.Config.Name != name {
		return nil, jserr.NewStreamMismatchError()
	}
	subj, err := f.rt.StartRestore(ctx, r.Account, &req, r.Client)
	if err != nil {
		return nil, err
	}
	return &jsapi.RestoreResponse{DeliverSubject: subj}, nil
}

// stepdown on a single server: the stream exists and this server stays
// its leader, which the reference reports as an error since there is no
// other peer to move to.
func (f *family) stepdown(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	if _, err := f.rt.LookupStream(r.Account, streamToken(r)); err != nil {
		return nil, err
	}
	return nil, jserr.NewClusterRequiredError()
}

func (f *family) peerRemove(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	if _, err := f.rt.LookupStream(r.Account, streamToken(r)); err != nil {
		return nil, err
	}
	return nil, jserr.NewClusterRequiredError()
}
