package jetstream

import (
	"context"
	"errors"
	"strings"

	"github.com/hangar-mq/hangar/core/jsapi"
)

// APIHost returns the jsapi.Host that families run out of process reach
// the runtime through: API calls in any account, dispatched in-process
// without a network round trip, and publishes.
func (rt *Runtime) APIHost() jsapi.Host { return apiHost{rt} }

type apiHost struct{ rt *Runtime }

var errNoAPI = errors.New("jetstream: not a JSON API subject")

// Call implements jsapi.Host.
func (h apiHost) Call(ctx context.Context, account, subj string, body []byte) ([]byte, error) {
	rt := h.rt
	if rt.router == nil {
		return nil, errShutdown
	}
	acc, ok := rt.srv.LookupAccount(account)
	if !ok {
		return nil, errors.New("jetstream: no such account " + account)
	}
	prefix := jsapi.APIPrefix
	if !strings.HasPrefix(subj, prefix) {
		return nil, errNoAPI
	}
	toks := strings.Split(subj[len(prefix):], ".")
	route := rt.router.match(toks)
	if route == nil || route.ep.Type == "" {
		return nil, errNoAPI
	}
	req := &jsapi.Request{Account: account, Subject: subj, Tokens: toks, Body: body,
		Respond: func(_, _ []byte) {}, Publish: func(s, r string, hd, d []byte) { acc.Publish(s, r, hd, d) }}
	b, ok := rt.router.dispatch(&apiJob{acc: acc, ja: rt.lookupAccount(account), route: route, req: req})
	if !ok {
		return nil, errNoAPI
	}
	return b, nil
}

// Publish implements jsapi.Host.
func (h apiHost) Publish(ctx context.Context, account, subj, reply string, hdr, data []byte) error {
	acc, ok := h.rt.srv.LookupAccount(account)
	if !ok {
		return errors.New("jetstream: no such account " + account)
	}
	acc.Publish(subj, reply, hdr, data)
	return nil
}
