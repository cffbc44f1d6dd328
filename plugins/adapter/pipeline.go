package adapter

import (
	"context"
	"errors"
	"sync"

	storev1 "github.com/hangar-mq/hangar/proto/store/v1"
	"google.golang.org/grpc"
)

// pipeline carries StoreBatch calls over one StoreStream: requests go out
// as they come and the server answers them in order, so concurrent batches
// overlap instead of each paying a round trip.
type pipeline struct {
	st     grpc.BidiStreamingClient[storev1.StoreBatchRequest, storev1.StoreBatchResponse]
	cancel context.CancelFunc

	// sendMu serialises Send (a gRPC stream allows one sender). It is
	// never held while waiting for qmu's holder to receive, so a send
	// blocked on flow control cannot stop the receiver from draining.
	sendMu sync.Mutex
	qmu    sync.Mutex // guards queue and err; taken after sendMu
	queue  []chan batchResult
	err    error
}

type batchResult struct {
	resp *storev1.StoreBatchResponse
	err  error
}

var errPipeClosed = errors.New("adapter: batch pipeline closed")

func openPipeline(ss storev1.StreamStoreClient) (*pipeline, error) {
	// The stream outlives any one call: it gets its own context, and each
	// call's deadline applies to its wait for the answer.
	ctx, cancel := context.WithCancel(context.Background())
	st, err := ss.StoreStream(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	p := &pipeline{st: st, cancel: cancel}
	go p.receive()
	return p, nil
}

func (p *pipeline) receive() {
	for {
		resp, err := p.st.Recv()
		p.qmu.Lock()
		if err != nil {
			if p.err == nil {
				p.err = err
			}
			q := p.queue
			p.queue = nil
			p.qmu.Unlock()
			for _, ch := range q {
				ch <- batchResult{err: p.err}
			}
			return
		}
		var ch chan batchResult
		if len(p.queue) > 0 {
			ch, p.queue = p.queue[0], p.queue[1:]
		}
		p.qmu.Unlock()
		if ch != nil {
			ch <- batchResult{resp: resp}
		}
	}
}

// do sends req and waits for its answer or ctx.
func (p *pipeline) do(ctx context.Context, req *storev1.StoreBatchRequest) (*storev1.StoreBatchResponse, error) {
	ch := make(chan batchResult, 1)
	p.sendMu.Lock()
	p.qmu.Lock()
	if err := p.err; err != nil {
		p.qmu.Unlock()
		p.sendMu.Unlock()
		return nil, err
	}
	p.queue = append(p.queue, ch)
	p.qmu.Unlock()
	// A failed Send (the stream broke) is reported by Recv, which fails
	// every waiter, this one included.
	_ = p.st.Send(req)
	p.sendMu.Unlock()
	select {
	case r := <-ch:
		return r.resp, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// close ends the stream; waiters get an error.
func (p *pipeline) close() {
	p.qmu.Lock()
	if p.err == nil {
		p.err = errPipeClosed
	}
	p.qmu.Unlock()
	p.cancel()
}
