package jsapi

import "context"

// API subject prefixes.
const (
	APIPrefix      = "$JS.API."
	APISubjects    = "$JS.API.>"
	DomainPrefix   = "$JS."
	AckPrefix      = "$JS.ACK."
	EventPrefix    = "$JS.EVENT."
	AdvisoryPrefix = "$JS.EVENT.ADVISORY."
	MetricPrefix   = "$JS.EVENT.METRIC."
)

// Request is one API request as a family sees it.
type Request struct {
	// Account is the requesting account's name.
	Account string
	// Subject is the subject as received (it may carry a domain prefix).
	Subject string
	// Tokens are the subject's tokens after "$JS.API." (or the domain's
	// API prefix), e.g. ["STREAM", "INFO", "ORDERS"].
	Tokens []string
	// Reply is where the answer goes.
	Reply string
	// Header is the raw NATS header block of the request, if any.
	Header []byte
	// Body is the request payload (JSON, or empty).
	Body []byte
	// Client describes the requester.
	Client *ClientInfo
	// Respond publishes a raw (non-JSON) reply to Reply; families that
	// answer with messages (direct get) use it and return a nil Response.
	Respond func(hdr, data []byte)
	// Publish sends any message in the requester's account.
	Publish func(subject, reply string, hdr, data []byte)
}

// Response is a JSON reply; the router sets its type and marshals it.
type Response interface {
	SetType(string)
}

// RawResponse is a reply whose JSON a family produced itself (a plugin).
type RawResponse []byte

// SetType does nothing: the bytes are final.
func (RawResponse) SetType(string) {}

// MarshalJSON returns the bytes unchanged.
func (r RawResponse) MarshalJSON() ([]byte, error) { return r, nil }

// Handler serves one endpoint. It returns the reply, or an error the
// router turns into the reply's error object (a *jserr.APIError keeps its
// codes; anything else becomes a 500). A nil Response with a nil error
// means the handler answered on its own (or not at all).
type Handler func(ctx context.Context, r *Request) (Response, error)

// Endpoint is one API subject form a family serves.
type Endpoint struct {
	// Pattern is relative to "$JS.API.": tokens, "*" for one token, a
	// trailing ">" for the rest, e.g. "STREAM.INFO.*".
	Pattern string
	// Type is the reply's type string, also used for error replies.
	Type string
	// Inline handlers run on the publisher's goroutine (cheap reads); the
	// others run on the API worker pool so slow work never stalls a
	// client connection.
	Inline bool
	// System endpoints (meta, server, account operations) are served in
	// the system account, which has no JetStream of its own.
	System bool
	// Handle serves the request.
	Handle Handler
}

// Family is a group of API endpoints: built in, compiled in, or served by a
// plugin process.
type Family interface {
	// ID is dotted and lowercase, e.g. "api.stream".
	ID() string
	// Endpoints lists what the family serves.
	Endpoints() []Endpoint
}

// Host is what a family may ask of the server. Built-in families also get
// the runtime itself; an out-of-process family has only this.
type Host interface {
	// Call performs an API request as account and returns the JSON reply.
	Call(ctx context.Context, account, subject string, body []byte) ([]byte, error)
	// Publish sends a message in account.
	Publish(ctx context.Context, account, subject, reply string, hdr, data []byte) error
}
