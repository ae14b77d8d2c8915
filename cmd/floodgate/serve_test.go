package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// startServe runs `floodgate serve` with args on free loopback ports until
// the returned stop, which waits for it to return; it returns the gRPC
// address once /healthcheck answers.
func startServe(t *testing.T, args ...string) (grpcAddr string, stop func()) {
	t.Helper()
	grpcAddr, _, stop = startServeHTTP(t, args...)
	return grpcAddr, stop
}

// startServeHTTP is startServe, returning the HTTP address too.
func startServeHTTP(t *testing.T, args ...string) (grpcAddr, httpAddr string, stop func()) {
	t.Helper()
	grpcAddr = fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	httpAddr = fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	stop = startServeOn(t, grpcAddr, httpAddr, args...)
	waitHTTP(t, "http://"+httpAddr+"/healthcheck")
	return grpcAddr, httpAddr, stop
}

// startServeOn runs `floodgate serve` with args on the given addresses
// until the returned stop, without waiting for it to be healthy.
func startServeOn(t *testing.T, grpcAddr, httpAddr string, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, append([]string{"--grpc-addr", grpcAddr, "--http-addr", httpAddr, "--log-level", "warn"}, args...))
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := testkit.Receive(t, "serve to return", done); err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func rlsConn(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// The all-in-one process does not expose its engine on the RLS port:
// forged hits sent there are refused, and the process still enforces its
// limits through its own in-process engine.
func TestServeKeepsTheEngineOffTheRLSPort(t *testing.T) {
	addr, _ := startServe(t, "--mode", "async")
	cc := rlsConn(t, addr)
	ctx := context.Background()

	st, err := enginepb.NewThrottleEngineClient(cc).StreamHits(ctx)
	if err == nil {
		victim := &enginepb.Hit{Domain: "api", Hits: 6000, UnixTime: 0,
			Entries: []*enginepb.Entry{{Key: "path", Value: "/v1/login"}, {Key: "remote_address", Value: "10.0.0.7"}}}
		_ = st.Send(&enginepb.HitBatch{ReplicaId: "forger", Seq: 1, Hits: []*enginepb.Hit{victim}})
		_, err = st.Recv()
	}
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("ThrottleEngine/StreamHits on the RLS port: %v, want Unimplemented", err)
	}

	rls := rlsv3.NewRateLimitServiceClient(cc)
	login := &rlsv3.RateLimitRequest{Domain: "api", HitsAddend: 1, Descriptors: []*ratelimitv3.RateLimitDescriptor{{
		Entries: []*ratelimitv3.RateLimitDescriptor_Entry{{Key: "path", Value: "/v1/login"}, {Key: "remote_address", Value: "10.0.0.9"}}}}}
	codesSeen := map[rlsv3.RateLimitResponse_Code]int{}
	for range 11 { // the examples allow 10 logins a minute
		resp, err := rls.ShouldRateLimit(ctx, login)
		if err != nil {
			t.Fatal(err)
		}
		codesSeen[resp.GetOverallCode()]++
	}
	if codesSeen[rlsv3.RateLimitResponse_OK] != 10 || codesSeen[rlsv3.RateLimitResponse_OVER_LIMIT] != 1 {
		t.Fatalf("11 logins answered %v, want 10 OK and 1 OVER_LIMIT", codesSeen)
	}
}

// Every hit `serve --mode async --redis` answered before it stopped
// reaches the counters: the replica's last flush runs after the RLS has
// drained, not before. Requests keep arriving while the process stops.
func TestServeCountsEveryAnsweredHitOnStop(t *testing.T) {
	redisSrv := testserver.Redis(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "d.yaml"), []byte("domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: hour, requests_per_unit: 100000000}\n"), 0o644)
	addr, stop := startServe(t, "--mode", "async", "--redis", "redis://"+redisSrv.Addr+"/0", "--config", dir,
		"--counter-prefix", "drain:")
	rls := rlsv3.NewRateLimitServiceClient(rlsConn(t, addr))

	const workers, maxPerWorker = 4, 20000
	var answered atomic.Uint64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := &rlsv3.RateLimitRequest{Domain: "d", HitsAddend: 1, Descriptors: []*ratelimitv3.RateLimitDescriptor{{
				Entries: []*ratelimitv3.RateLimitDescriptor_Entry{{Key: "k", Value: strconv.Itoa(w)}}}}}
			for range maxPerWorker {
				resp, err := rls.ShouldRateLimit(context.Background(), req)
				if err != nil {
					return // the process has stopped
				}
				if resp.GetOverallCode() == rlsv3.RateLimitResponse_OK {
					answered.Add(1)
				}
			}
		}()
	}
	testkit.Eventually(t, "requests answered under load", func() bool { return answered.Load() >= 500 })
	stop()
	wg.Wait()

	rc := redis.NewClient(&redis.Options{Addr: redisSrv.Addr})
	defer rc.Close()
	var counted uint64
	keys, err := rc.Keys(context.Background(), "drain:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		n, err := rc.Get(context.Background(), k).Uint64()
		if err != nil {
			t.Fatalf("counter %s: %v", k, err)
		}
		counted += n
	}
	if got := answered.Load(); counted < got {
		t.Fatalf("%d hits answered OK, %d counted: %d answered hits lost on stop", got, counted, got-counted)
	}
	t.Logf("%d hits answered, %d counted", answered.Load(), counted)
}
