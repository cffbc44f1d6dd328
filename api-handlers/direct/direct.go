// Package direct is the direct get family: DIRECT.GET.<stream> with a get
// request, and DIRECT.GET.<stream>.<subject> for the last message of a
// subject. Replies are raw messages with status headers, served inline on
// the requester's connection because they are cheap reads.
package direct

import (
	"context"
	"strings"

	"github.com/hangar-mq/hangar/core/jetstream"
	"github.com/hangar-mq/hangar/core/jsapi"
)

func init() {
	jetstream.RegisterFamily(jetstream.FamilyInfo{ID: "api.direct", New: func(rt *jetstream.Runtime) (jsapi.Family, error) {
		return &family{rt: rt}, nil
	}})
}

type family struct{ rt *jetstream.Runtime }

func (f *family) ID() string { return "api.direct" }

func (f *family) Endpoints() []jsapi.Endpoint {
	return []jsapi.Endpoint{
		{Pattern: "DIRECT.GET.*", Inline: true, Handle: f.get},
		{Pattern: "DIRECT.GET.*.>", Inline: true, Handle: f.getLast},
	}
}

var (
	noResponders = []byte("NATS/1.0 503\r\n\r\n")
	emptyRequest = []byte("NATS/1.0 408 Empty Request\r\n\r\n")
	badRequest   = []byte("NATS/1.0 408 Bad Request\r\n\r\n")
)

// lookup returns the stream if it serves direct gets; a stream that does
// not has no direct responder, which the requester sees as no responders.
func (f *family) lookup(r *jsapi.Request) *jetstream.Stream {
	s, err := f.rt.LookupStream(r.Account, r.Tokens[2])
	if err != nil || !s.AllowDirect() {
		r.Respond(noResponders, nil)
		return nil
	}
	return s
}

func (f *family) get(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	s := f.lookup(r)
	if s == nil {
		return nil, nil
	}
	if len(r.Body) == 0 {
		r.Respond(emptyRequest, nil)
		return nil, nil
	}
	var req jsapi.MsgGetRequest
	if err := f.rt.DecodeRequest(r.Body, &req); err != nil {
		r.Respond(badRequest, nil)
		return nil, nil
	}
	s.DirectGet(ctx, &req, r.Respond)
	return nil, nil
}

func (f *family) getLast(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) {
	s := f.lookup(r)
	if s == nil {
		return nil, nil
	}
	req := jsapi.MsgGetRequest{LastFor: strings.Join(r.Tokens[3:], ".")}
	if len(r.Body) > 0 {
		var opts struct {
			NoHeaders bool `json:"no_hdr"`
		}
		if err := f.rt.DecodeRequest(r.Body, &opts); err != nil {
			r.Respond(badRequest, nil)
			return nil, nil
		}
		req.NoHeaders = opts.NoHeaders
	}
	s.DirectGet(ctx, &req, r.Respond)
	return nil, nil
}
