package replica

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// dialEngine opens the connection under an engine's streams: plaintext
// unless dial says otherwise, reconnecting within engineConnectParams.
func dialEngine(addr string, dial []grpc.DialOption) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{grpc.WithConnectParams(engineConnectParams)}
	if len(dial) == 0 {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	return grpc.NewClient(addr, append(opts, dial...)...)
}

// receive reads a stream's messages on a goroutine of its own, so that the
// sender can wait on them, its queue and its context at once. It stops at
// the stream's first error, which it hands over, or when ctx ends.
func receive[T any](ctx context.Context, recv func() (*T, error), buffer int) (<-chan *T, <-chan error) {
	msgs := make(chan *T, buffer)
	errs := make(chan error, 1)
	go func() {
		for {
			m, err := recv()
			if err != nil {
				errs <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return msgs, errs
}

// pickEngine offers to n engines, one after the other in the order policy
// gives (round robin from next's turn for LoadBalance, configured order
// for Failover), until offer takes; it reports whether one did.
func pickEngine(policy EnginePolicy, next *atomic.Uint32, n int, offer func(i int) bool) bool {
	start := 0
	if policy == LoadBalance {
		start = int(next.Add(1)-1) % n
	}
	for i := 0; i < n; i++ {
		if offer((start + i) % n) {
			return true
		}
	}
	return false
}
