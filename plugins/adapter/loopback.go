package adapter

import (
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"

	"github.com/hangar-mq/hangar/core/store"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Loopback serves p on a unix socket in this process and returns a client
// for it: the whole transport of a plugin but the process boundary, for
// tests and the SDK's conformance run. stop ends both sides (it does not
// close p: closing the client does, as for a real plugin).
func Loopback(p store.Provider) (client *StoreClient, stop func(), err error) {
	// Socket paths are limited to about 100 bytes: keep it short.
	dir, err := os.MkdirTemp("", "hgr")
	if err != nil {
		return nil, nil, err
	}
	path := filepath.Join(dir, "s")
	lis, err := net.Listen("unix", path)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("adapter: loopback listen: %w", err)
	}
	srv := NewGRPCServerWithLimits(nil)
	NewGRPCServer(p).Register(srv)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("unix://"+path,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32)))
	if err != nil {
		srv.Stop()
		os.RemoveAll(dir)
		return nil, nil, err
	}
	stop = func() {
		_ = conn.Close()
		srv.Stop()
		_ = os.RemoveAll(dir)
	}
	return NewStoreClient(conn, ClientOptions{Name: "loopback"}), stop, nil
}
