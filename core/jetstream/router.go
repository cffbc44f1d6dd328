package jetstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
	"github.com/hangar-mq/hangar/core/server"
)

// router dispatches $JS.API requests to family endpoints. Requests for
// inline endpoints run on the publisher's goroutine; the rest go to a
// bounded queue served by a few workers, so a slow operation (a stream
// create that touches disk, a snapshot waiting for acks from the very
// client that asked) never blocks a connection's read loop.
type router struct {
	rt      *Runtime
	byFirst map[string][]*route
	queue   chan *apiJob
	wg      sync.WaitGroup

	mu   sync.Mutex
	subs map[*server.Account][]*server.Subscription
}

type route struct {
	ep   jsapi.Endpoint
	toks []string
	fwc  bool
}

type apiJob struct {
	acc   *server.Account
	ja    *jsAccount
	route *route
	req   *jsapi.Request
	pc    *server.Client
}

func newRouter(rt *Runtime, fams []jsapi.Family) *router {
	r := &router{rt: rt, byFirst: map[string][]*route{}, subs: map[*server.Account][]*server.Subscription{},
		queue: make(chan *apiJob, rt.cfg.RequestQueueLimit)}
	for _, f := range fams {
		for _, ep := range f.Endpoints() {
			toks := strings.Split(ep.Pattern, ".")
			rt := &route{ep: ep, toks: toks}
			if toks[len(toks)-1] == ">" {
				rt.fwc = true
				rt.toks = toks[:len(toks)-1]
			}
			r.byFirst[toks[0]] = append(r.byFirst[toks[0]], rt)
		}
	}
	return r
}

func (r *router) start() {
	for i := 0; i < apiWorkers; i++ {
		r.wg.Add(1)
		go r.worker()
	}
}

func (r *router) stop() {
	r.mu.Lock()
	for a, subs := range r.subs {
		for _, s := range subs {
			a.Unsubscribe(s)
		}
	}
	r.subs = map[*server.Account][]*server.Subscription{}
	r.mu.Unlock()
	close(r.queue)
	r.wg.Wait()
}

func (r *router) worker() {
	defer r.wg.Done()
	for job := range r.queue {
		r.rt.inflight.Add(1)
		r.handle(job)
		r.rt.inflight.Add(-1)
	}
}

// serveAccount subscribes the API subjects in a.
func (r *router) serveAccount(a *server.Account) error {
	prefixes := []string{jsapi.APIPrefix}
	if d := r.rt.cfg.Domain; d != "" {
		prefixes = append(prefixes, "$JS."+d+".API.")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.subs[a]; ok {
		return nil
	}
	for _, p := range prefixes {
		p := p
		sub, err := a.Subscribe(p+">", "", func(_ *server.Subscription, pc *server.Client, subj, reply string, hdr, data []byte) {
			r.onRequest(a, pc, p, subj, reply, hdr, data)
		})
		if err != nil {
			return err
		}
		r.subs[a] = append(r.subs[a], sub)
	}
	return nil
}

func (r *router) match(toks []string) *route {
	for _, rt := range r.byFirst[toks[0]] {
		if rt.fwc {
			if len(toks) <= len(rt.toks) {
				continue
			}
		} else if len(toks) != len(rt.toks) {
			continue
		}
		ok := true
		for i, t := range rt.toks {
			if t != "*" && t != toks[i] {
				ok = false
				break
			}
		}
		if ok {
			return rt
		}
	}
	return nil
}

func (r *router) onRequest(a *server.Account, pc *server.Client, prefix, subj, reply string, hdr, data []byte) {
	toks := strings.Split(subj[len(prefix):], ".")
	rt := r.match(toks)
	req := &jsapi.Request{Account: a.Name, Subject: subj, Tokens: toks, Reply: reply}
	if len(hdr) > 0 {
		req.Header = bytes.Clone(hdr)
	}
	if len(data) > 0 {
		req.Body = bytes.Clone(data)
	}
	req.Respond = func(h, d []byte) {
		if reply != "" {
			a.PublishAs(pc, reply, "", h, d)
		}
	}
	req.Publish = func(s, rp string, h, d []byte) { a.Publish(s, rp, h, d) }
	job := &apiJob{acc: a, ja: r.rt.lookupAccount(a.Name), route: rt, req: req, pc: pc}
	if rt != nil && rt.ep.Inline {
		r.handle(job)
		return
	}
	select {
	case r.queue <- job:
	default:
		r.rt.log.Warnf("JetStream API queue limit reached, dropping request on %q", subj)
		r.rt.advisoryAPILimit(a)
	}
}

func (r *router) handle(job *apiJob) {
	b, ok := r.dispatch(job)
	if !ok {
		return
	}
	if job.req.Reply != "" {
		job.acc.PublishAs(job.pc, job.req.Reply, "", nil, b)
	}
	r.rt.advisoryAPIAudit(job.acc, job.req, b)
}

// dispatch runs a request's endpoint and returns its JSON reply; ok is
// false when there is nothing to send (no responder, or the handler
// answered on its own).
func (r *router) dispatch(job *apiJob) ([]byte, bool) {
	req, rt := job.req, job.route
	if rt == nil {
		// The reference has no responder for unknown API subjects.
		return nil, false
	}
	sys := job.acc == r.rt.srv.SystemAccount()
	if rt.ep.System && !sys {
		// Only the system account has a responder for these.
		return nil, false
	}
	typ := rt.ep.Type
	if typ == "" {
		typ = jsapi.ErrorResponseType
	}
	var resp jsapi.Response
	var err error
	switch {
	case job.ja == nil && !rt.ep.System:
		err = jserr.NewNotEnabledForAccountError()
	default:
		if lvl, ok := getHeader(req.Header, hdrRequiredAPILevel); ok {
			if n, perr := strconv.Atoi(lvl); perr != nil || n > APILevel {
				if rt.ep.Type == "" && req.Respond != nil {
					// Raw-reply endpoints (direct get, pull) answer with a status.
					req.Respond(statusHdr("412 Required Api Level"), nil)
					return nil, false
				}
				err = jserr.NewRequiredApiLevelError()
				break
			}
		}
		if job.pc != nil && rt.ep.Type != "" {
			req.Client = clientInfo(job.pc)
		}
		resp, err = r.call(rt, req)
		if isNilResponse(resp) && err == nil {
			return nil, false
		}
	}
	r.rt.apiTotal.Add(1)
	if job.ja != nil {
		job.ja.apiTotal.Add(1)
	}
	if err != nil {
		r.rt.apiErrors.Add(1)
		if job.ja != nil {
			job.ja.apiErrors.Add(1)
		}
		ae := jserr.From(err)
		if isNilResponse(resp) {
			resp = nil
		}
		if se, ok := resp.(interface{ SetError(*jserr.APIError) }); ok {
			se.SetError(ae)
		} else {
			resp = &jsapi.APIResponse{Error: ae}
		}
	}
	resp.SetType(typ)
	b, merr := json.Marshal(resp)
	if merr != nil {
		b, _ = json.Marshal(&jsapi.APIResponse{Type: typ, Error: jserr.From(merr)})
	}
	return b, true
}

// isNilResponse reports whether resp is nil or a nil pointer in an
// interface (a handler returning its typed result on error).
func isNilResponse(resp jsapi.Response) bool {
	if resp == nil {
		return true
	}
	v := reflect.ValueOf(resp)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// call runs a handler, turning a panic into a 500 reply: one bad request
// must not take the server down with every stream on it.
func (r *router) call(rt *route, req *jsapi.Request) (resp jsapi.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.rt.log.Errorf("JetStream API handler for %q panicked: %v\n%s", req.Subject, p, debug.Stack())
			resp, err = nil, jserr.NewStreamGeneralErrorError(fmt.Errorf("internal error"))
		}
	}()
	return rt.ep.Handle(r.rt.ctx, req)
}

func clientInfo(c *server.Client) *jsapi.ClientInfo {
	ci := c.Info()
	return &jsapi.ClientInfo{Start: ci.Start, Host: ci.Host, ID: ci.ID, Account: ci.Account, User: ci.User,
		Name: ci.Name, Lang: ci.Lang, Version: ci.Version, RTT: ci.RTT, Server: ci.Server, Kind: ci.Kind, Type: ci.Type}
}

// decodeRequest decodes a JSON body strictly (unknown fields are 10025)
// unless the server runs with strict: false.
func (rt *Runtime) decodeRequest(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if rt.cfg.Strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return jserr.NewInvalidJSONError(fmt.Sprintf("%v at offset %d", err, se.Offset))
		}
		return jserr.NewInvalidJSONError(err)
	}
	return nil
}

// IsEmptyRequest reports whether a body carries nothing: empty, blank or
// an empty JSON object, which the reference treats alike.
func IsEmptyRequest(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return true
	}
	var m map[string]any
	return json.Unmarshal(b, &m) == nil && len(m) == 0
}

// DecodeRequest is decodeRequest for families.
func (rt *Runtime) DecodeRequest(body []byte, v any) error { return rt.decodeRequest(body, v) }

var _ = time.Now
