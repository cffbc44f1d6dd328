package adapter

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/hangar-mq/hangar/core/store"
	"github.com/hangar-mq/hangar/core/store/mem"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// serveUnix serves p on a unix socket in this process for as long as tb
// runs.
func serveUnix(tb testing.TB, p store.Provider) *StoreClient {
	tb.Helper()
	c, stop, err := Loopback(p)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	return c
}

func TestErrorRoundTrip(t *testing.T) {
	for _, k := range store.Kinds() {
		err := errors.Join(k.Sentinel())
		back := ProtoToErr(ErrToProto(err))
		if !errors.Is(back, k.Sentinel()) || back.Error() != err.Error() {
			t.Errorf("kind %s: got %v", k, back)
		}
	}
	back := ProtoToErr(ErrToProto(Unavailable("p", errors.New("gone"))))
	if !errors.Is(back, ErrPluginUnavailable) || !errors.Is(back, store.ErrUnavailable) {
		t.Errorf("unavailable did not survive: %v", back)
	}
	if ErrToProto(nil) != nil || ProtoToErr(nil) != nil {
		t.Error("nil did not stay nil")
	}
	if store.KindOf(ErrPluginUnavailable) != store.KindUnavailable {
		t.Error("ErrPluginUnavailable is not of the unavailable kind")
	}
}

// TestDeadServer checks that calls fail fast with ErrPluginUnavailable
// once the server is gone, instead of hanging.
func TestDeadServer(t *testing.T) {
	p, _ := mem.New(store.ProviderConfig{})
	dir, _ := os.MkdirTemp("", "hgr")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "s")
	lis, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewGRPCServerWithLimits(nil)
	NewGRPCServer(p).Register(srv)
	go srv.Serve(lis)
	conn, _ := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer conn.Close()
	var notified int
	c := NewStoreClient(conn, ClientOptions{Name: "test", OnUnavailable: func(error) { notified++ }})
	ctx := context.Background()
	s, err := c.Open(ctx, store.StreamConfig{Account: "A", Name: "S"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Store(ctx, "a", nil, []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := s.Load(ctx, 1); !errors.Is(err, ErrPluginUnavailable) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Load on a dead server: %v", err)
	}
	if _, err := s.StoreBatch(ctx, []store.NewMsg{{Subject: "a"}}); !errors.Is(err, ErrPluginUnavailable) {
		t.Fatalf("StoreBatch on a dead server: %v", err)
	}
	if notified == 0 {
		t.Fatal("OnUnavailable was not called")
	}
	c.MarkDown(errors.New("restarting"))
	if _, err := s.Load(ctx, 1); !errors.Is(err, ErrPluginUnavailable) {
		t.Fatalf("Load while down: %v", err)
	}
}

// TestLoadRangePieces checks that a LoadRange larger than one response
// comes back whole and within the request's own limits.
func TestLoadRangePieces(t *testing.T) {
	ctx := context.Background()
	direct, _ := mem.New(store.ProviderConfig{})
	inner, _ := mem.New(store.ProviderConfig{})
	remote := serveUnix(t, inner)
	var streams []store.StreamStore
	for _, p := range []store.Provider{direct, remote} {
		s, err := p.Open(ctx, store.StreamConfig{Account: "A", Name: "R"})
		if err != nil {
			t.Fatal(err)
		}
		batch := make([]store.NewMsg, 0, 500)
		for i := range 20000 {
			subj := "a"
			if i%3 == 0 {
				subj = "b"
			}
			batch = append(batch, store.NewMsg{Subject: subj, Data: make([]byte, 300)})
			if len(batch) == cap(batch) {
				if _, err := s.StoreBatch(ctx, batch); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		streams = append(streams, s)
	}
	for _, rr := range []store.RangeRequest{
		{},
		{Start: 17, MaxMsgs: 9000},
		{MaxBytes: 5 << 20},
		{MaxBytes: 5<<20 + 150},
		{Filters: []string{"b"}},
		{Start: 100, End: 12345, Filters: []string{"a"}, MaxMsgs: 10000},
		{Start: 19990},
	} {
		want, werr := streams[0].LoadRange(ctx, rr)
		got, gerr := streams[1].LoadRange(ctx, rr)
		if (werr == nil) != (gerr == nil) || len(want) != len(got) {
			t.Fatalf("%+v: got %d msgs (%v), want %d (%v)", rr, len(got), gerr, len(want), werr)
		}
		for i := range want {
			if want[i].Seq != got[i].Seq {
				t.Fatalf("%+v: message %d is seq %d, want %d", rr, i, got[i].Seq, want[i].Seq)
			}
		}
	}
}
