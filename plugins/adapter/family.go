package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
	apiv1 "github.com/hangar-mq/hangar/proto/api/v1"
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// Versioner is optionally implemented by a jsapi.Family to report its
// version through Describe.
type Versioner interface {
	Version() string
}

// FamilyServer serves a jsapi.Family over hangar.api.v1 in a plugin
// process. The family is built at Setup, when the host's callback
// connection exists.
type FamilyServer struct {
	apiv1.UnimplementedFamilyServer
	broker *plugin.GRPCBroker
	build  func(jsapi.Host) jsapi.Family

	mu       sync.Mutex // guards the fields below
	fam      jsapi.Family
	host     *HostClient
	handlers map[string]jsapi.Endpoint
}

// NewFamilyServer returns a server that builds its family with build once
// the host calls Setup; broker dials the host's callback service.
func NewFamilyServer(broker *plugin.GRPCBroker, build func(jsapi.Host) jsapi.Family) *FamilyServer {
	return &FamilyServer{broker: broker, build: build}
}

// Register registers the Family service on r.
func (fs *FamilyServer) Register(r grpc.ServiceRegistrar) { apiv1.RegisterFamilyServer(r, fs) }

// Setup implements apiv1.FamilyServer: one broker connection to the host,
// kept for every callback of the process's life.
func (fs *FamilyServer) Setup(_ context.Context, req *apiv1.SetupRequest) (*apiv1.SetupResponse, error) {
	conn, err := fs.broker.Dial(req.GetHostBrokerId())
	if err != nil {
		return &apiv1.SetupResponse{Error: APIErrToProto(fmt.Errorf("dialing the host: %w", err))}, nil
	}
	host := NewHostClient(conn)
	fam := fs.build(host)
	if fam == nil {
		_ = conn.Close()
		return &apiv1.SetupResponse{Error: APIErrToProto(errors.New("the family constructor returned nil"))}, nil
	}
	handlers := make(map[string]jsapi.Endpoint)
	for _, ep := range fam.Endpoints() {
		handlers[ep.Pattern] = ep
	}
	fs.mu.Lock()
	old := fs.host
	fs.fam, fs.host, fs.handlers = fam, host, handlers
	fs.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return &apiv1.SetupResponse{}, nil
}

// Describe implements apiv1.FamilyServer.
func (fs *FamilyServer) Describe(context.Context, *apiv1.DescribeRequest) (*apiv1.DescribeResponse, error) {
	fs.mu.Lock()
	fam := fs.fam
	fs.mu.Unlock()
	if fam == nil {
		return &apiv1.DescribeResponse{Error: APIErrToProto(errors.New("Describe before Setup"))}, nil
	}
	out := &apiv1.DescribeResponse{Id: fam.ID()}
	if v, ok := fam.(Versioner); ok {
		out.Version = v.Version()
	}
	for _, ep := range fam.Endpoints() {
		out.Endpoints = append(out.Endpoints, &apiv1.Endpoint{Pattern: ep.Pattern, Type: ep.Type, Inline: ep.Inline, System: ep.System})
	}
	return out, nil
}

// Handle implements apiv1.FamilyServer. Raw replies the handler sends are
// gathered into the response; Publish goes to the host at once. A reply
// gets its type here, so the JSON that travels is final.
func (fs *FamilyServer) Handle(ctx context.Context, req *apiv1.HandleRequest) (*apiv1.HandleResponse, error) {
	fs.mu.Lock()
	ep, ok := fs.handlers[req.GetPattern()]
	host := fs.host
	fs.mu.Unlock()
	if !ok {
		return &apiv1.HandleResponse{Error: APIErrToProto(jserr.NewBadRequestError())}, nil
	}
	out := &apiv1.HandleResponse{}
	var rmu sync.Mutex
	r := &jsapi.Request{
		Account: req.GetAccount(), Subject: req.GetSubject(), Tokens: req.GetTokens(), Reply: req.GetReply(),
		Header: req.GetHeader(), Body: req.GetBody(),
		Respond: func(hdr, data []byte) {
			rmu.Lock()
			out.Raw = append(out.Raw, &apiv1.RawMsg{Header: append([]byte(nil), hdr...), Data: append([]byte(nil), data...)})
			rmu.Unlock()
		},
		Publish: func(subject, reply string, hdr, data []byte) {
			_ = host.Publish(ctx, req.GetAccount(), subject, reply, hdr, data)
		},
	}
	if ci := req.GetClientInfo(); len(ci) > 0 {
		r.Client = new(jsapi.ClientInfo)
		if err := json.Unmarshal(ci, r.Client); err != nil {
			r.Client = nil
		}
	}
	resp, err := ep.Handle(ctx, r)
	rmu.Lock()
	defer rmu.Unlock()
	if resp == nil {
		out.Error = APIErrToProto(err)
		return out, nil
	}
	resp.SetType(ep.Type)
	if err != nil {
		// Both a reply and an error: the error goes inside the reply, so
		// its shape survives (the router does the same in-process).
		se, ok := resp.(interface{ SetError(*jserr.APIError) })
		if !ok {
			out.Error = APIErrToProto(err)
			return out, nil
		}
		se.SetError(jserr.From(err))
	}
	b, merr := json.Marshal(resp)
	if merr != nil {
		out.Error = APIErrToProto(merr)
		return out, nil
	}
	out.Json = b
	return out, nil
}

// HostClient is the jsapi.Host a plugin's family uses: calls go back to the
// server over the broker connection made at Setup.
type HostClient struct {
	conn *grpc.ClientConn
	c    apiv1.HostClient
}

// NewHostClient returns a jsapi.Host calling the Host service over conn,
// which it owns.
func NewHostClient(conn *grpc.ClientConn) *HostClient {
	return &HostClient{conn: conn, c: apiv1.NewHostClient(conn)}
}

// Call implements jsapi.Host. A JetStream error reply of the host comes
// back as a *jserr.APIError.
func (h *HostClient) Call(ctx context.Context, account, subject string, body []byte) ([]byte, error) {
	r, err := h.c.Call(ctx, &apiv1.CallRequest{Account: account, Subject: subject, Body: body})
	if err != nil {
		return nil, fmt.Errorf("host call %s: %w", subject, err)
	}
	if e := r.GetError(); e != nil {
		return nil, ProtoToAPIErr(e)
	}
	return r.GetJson(), nil
}

// Publish implements jsapi.Host.
func (h *HostClient) Publish(ctx context.Context, account, subject, reply string, hdr, data []byte) error {
	r, err := h.c.Publish(ctx, &apiv1.PublishRequest{Account: account, Subject: subject, Reply: reply, Header: hdr, Data: data})
	if err != nil {
		return fmt.Errorf("host publish %s: %w", subject, err)
	}
	return ProtoToAPIErr(r.GetError())
}

// Close closes the broker connection.
func (h *HostClient) Close() error { return h.conn.Close() }

// HostServer serves a jsapi.Host to a family plugin. The host behind it is
// looked up per call, so the runtime can be wired in after the plugin
// started; until then calls fail with a 503-class error.
type HostServer struct {
	apiv1.UnimplementedHostServer
	host func() jsapi.Host
}

// NewHostServer returns a server for the jsapi.Host host returns.
func NewHostServer(host func() jsapi.Host) *HostServer { return &HostServer{host: host} }

// Call implements apiv1.HostServer.
func (hs *HostServer) Call(ctx context.Context, req *apiv1.CallRequest) (*apiv1.CallResponse, error) {
	h := hs.host()
	if h == nil {
		return &apiv1.CallResponse{Error: APIErrToProto(jserr.NewClusterNotAvailError())}, nil
	}
	b, err := h.Call(ctx, req.GetAccount(), req.GetSubject(), req.GetBody())
	if err != nil {
		return &apiv1.CallResponse{Error: APIErrToProto(err)}, nil
	}
	return &apiv1.CallResponse{Json: b}, nil
}

// Publish implements apiv1.HostServer.
func (hs *HostServer) Publish(ctx context.Context, req *apiv1.PublishRequest) (*apiv1.PublishResponse, error) {
	h := hs.host()
	if h == nil {
		return &apiv1.PublishResponse{Error: APIErrToProto(jserr.NewClusterNotAvailError())}, nil
	}
	err := h.Publish(ctx, req.GetAccount(), req.GetSubject(), req.GetReply(), req.GetHeader(), req.GetData())
	return &apiv1.PublishResponse{Error: APIErrToProto(err)}, nil
}

// FamilyConn is the host's side of one family plugin process: the
// connection the Family service is reached on and the broker the Host
// service is offered through.
type FamilyConn struct {
	Broker *plugin.GRPCBroker
	Conn   *grpc.ClientConn
}

// Description is what a family plugin says of itself.
type Description struct {
	ID        string
	Version   string
	Endpoints []*apiv1.Endpoint
}

// Setup offers host to the plugin on one broker connection, lets the
// plugin build its family, and returns the family's description.
func (fc *FamilyConn) Setup(ctx context.Context, host func() jsapi.Host) (Description, error) {
	id := fc.Broker.NextId()
	hs := NewHostServer(host)
	go fc.Broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := NewGRPCServerWithLimits(opts)
		apiv1.RegisterHostServer(s, hs)
		return s
	})
	c := apiv1.NewFamilyClient(fc.Conn)
	sr, err := c.Setup(ctx, &apiv1.SetupRequest{HostBrokerId: id})
	if err != nil {
		return Description{}, err
	}
	if e := sr.GetError(); e != nil {
		return Description{}, fmt.Errorf("family setup: %w", ProtoToAPIErr(e))
	}
	dr, err := c.Describe(ctx, &apiv1.DescribeRequest{})
	if err != nil {
		return Description{}, err
	}
	if e := dr.GetError(); e != nil {
		return Description{}, fmt.Errorf("family describe: %w", ProtoToAPIErr(e))
	}
	return Description{ID: dr.GetId(), Version: dr.GetVersion(), Endpoints: dr.GetEndpoints()}, nil
}

// Client returns the Family service client.
func (fc *FamilyConn) Client() apiv1.FamilyClient { return apiv1.NewFamilyClient(fc.Conn) }

// HandleRequest encodes r for Handle on the endpoint pattern.
func HandleRequest(pattern string, r *jsapi.Request) *apiv1.HandleRequest {
	out := &apiv1.HandleRequest{Pattern: pattern, Account: r.Account, Subject: r.Subject, Tokens: r.Tokens,
		Reply: r.Reply, Header: r.Header, Body: r.Body}
	if r.Client != nil {
		out.ClientInfo, _ = json.Marshal(r.Client)
	}
	return out
}

// HandleResponse delivers a Handle response as the router expects: raw
// replies through r.Respond, then the JSON reply or the error.
func HandleResponse(r *jsapi.Request, resp *apiv1.HandleResponse) (jsapi.Response, error) {
	for _, m := range resp.GetRaw() {
		if r.Respond != nil {
			r.Respond(m.GetHeader(), m.GetData())
		}
	}
	if e := resp.GetError(); e != nil {
		return nil, ProtoToAPIErr(e)
	}
	if len(resp.GetJson()) == 0 {
		return nil, nil
	}
	return jsapi.RawResponse(resp.GetJson()), nil
}

// Interface guards.
var (
	_ apiv1.FamilyServer = (*FamilyServer)(nil)
	_ apiv1.HostServer   = (*HostServer)(nil)
	_ jsapi.Host         = (*HostClient)(nil)
)
