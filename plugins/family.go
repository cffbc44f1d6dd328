package plugins

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/jserr"
	"github.com/hangar-mq/hangar/plugins/adapter"
	apiv1 "github.com/hangar-mq/hangar/proto/api/v1"
)

// remoteFamily is a jsapi.Family served by a plugin process. Its endpoints
// are those the plugin described at start; their handlers call whichever
// process runs now, and answer 503 while there is none.
type remoteFamily struct {
	name    string // plugin name
	id      string
	version string
	eps     []jsapi.Endpoint
	timeout time.Duration
	cur     atomic.Pointer[apiv1.FamilyClient]
	sup     atomic.Pointer[supervisor]
}

func newRemoteFamily(name string, d adapter.Description, timeout time.Duration) *remoteFamily {
	f := &remoteFamily{name: name, id: d.ID, version: d.Version, timeout: timeout}
	for _, e := range d.Endpoints {
		pattern := e.GetPattern()
		f.eps = append(f.eps, jsapi.Endpoint{
			Pattern: pattern,
			Type:    e.GetType(),
			// An RPC is never cheap enough for a publisher's goroutine,
			// whatever the plugin asked for.
			Inline: false,
			System: e.GetSystem(),
			Handle: func(ctx context.Context, r *jsapi.Request) (jsapi.Response, error) { return f.handle(ctx, pattern, r) },
		})
	}
	return f
}

// ID implements jsapi.Family.
func (f *remoteFamily) ID() string { return f.id }

// Endpoints implements jsapi.Family.
func (f *remoteFamily) Endpoints() []jsapi.Endpoint { return f.eps }

// Version reports the plugin's version.
func (f *remoteFamily) Version() string { return f.version }

func (f *remoteFamily) handle(ctx context.Context, pattern string, r *jsapi.Request) (jsapi.Response, error) {
	fc := f.cur.Load()
	if fc == nil {
		return nil, jserr.NewClusterNotAvailError()
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	resp, err := (*fc).Handle(ctx, adapter.HandleRequest(pattern, r))
	if err != nil {
		if s := f.sup.Load(); s != nil {
			s.check(err)
		}
		return nil, jserr.NewClusterNotAvailError()
	}
	return adapter.HandleResponse(r, resp)
}

// attach sets up a family process: the host callbacks and the family's
// description, and makes the process the one handlers call.
func (f *remoteFamily) attach(ctx context.Context, p *proc, host func() jsapi.Host) (adapter.Description, error) {
	fc, err := p.family()
	if err != nil {
		return adapter.Description{}, err
	}
	d, err := fc.Setup(ctx, host)
	if err != nil {
		return d, err
	}
	c := fc.Client()
	f.cur.Store(&c)
	return d, nil
}

// Interface guards.
var (
	_ jsapi.Family      = (*remoteFamily)(nil)
	_ adapter.Versioner = (*remoteFamily)(nil)
)
