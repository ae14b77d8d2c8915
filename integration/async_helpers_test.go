package integration

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

var asyncQuiet = slog.New(slog.DiscardHandler)

const asyncPolicy = `
domain: integ
descriptors:
  - key: sec
    rate_limit:
      unit: second
      requests_per_unit: 30
  - key: hour
    rate_limit:
      unit: hour
      requests_per_unit: 300
`

func asyncSnapshot(t testing.TB) *policy.Snapshot {
	t.Helper()
	s, err := policy.ParseSnapshot("integ.yaml", []byte(asyncPolicy))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var asyncBackoff = backoff.Backoff{Base: 10 * time.Millisecond, Max: 100 * time.Millisecond}

func asyncRedisClient(t testing.TB, addr string) redis.UniversalClient {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func asyncRedisBus(t testing.TB, redisAddr string) *decisions.RedisBus {
	t.Helper()
	b, err := decisions.NewRedisBus(decisions.RedisBusOptions{
		Endpoints:       []redis.UniversalClient{asyncRedisClient(t, redisAddr)},
		Names:           []string{redisAddr},
		Backoff:         asyncBackoff,
		PingInterval:    200 * time.Millisecond,
		RefreshInterval: 100 * time.Millisecond,
		Logger:          asyncQuiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// asyncEngine is a throttle engine serving on a loopback port.
type asyncEngine struct {
	addr   string
	engine *decisions.Engine
	srv    *grpc.Server
	once   sync.Once
}

// startAsyncEngine runs an engine counting in Redis at redisAddr; addr may
// name the port of an engine that was killed.
func startAsyncEngine(t testing.TB, redisAddr, addr string) *asyncEngine {
	t.Helper()
	store := counter.NewRedis(asyncRedisClient(t, redisAddr), "integ:")
	e, err := decisions.NewEngine(decisions.EngineOptions{
		Counter: store, Publisher: asyncRedisBus(t, redisAddr),
		FlushInterval: 5 * time.Millisecond, Logger: asyncQuiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.SetSnapshot(asyncSnapshot(t))
	l := asyncListen(t, addr)
	s := grpc.NewServer()
	e.Register(s)
	go func() { _ = s.Serve(l) }()
	ae := &asyncEngine{addr: l.Addr().String(), engine: e, srv: s}
	t.Cleanup(ae.kill)
	return ae
}

// kill drops the engine's streams at once, as a crash would.
func (e *asyncEngine) kill() {
	e.once.Do(func() {
		e.srv.Stop()
		_ = e.engine.Close()
	})
}

func asyncListen(t testing.TB, addr string) net.Listener {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var err error
	for range 50 { // a port just released may take a moment
		var l net.Listener
		if l, err = net.Listen("tcp", addr); err == nil {
			return l
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal(err)
	return nil
}

// asyncReplica is an RLS replica in async mode: Service + AsyncLimiter +
// gRPC server, and a client calling it as Envoy does.
type asyncReplica struct {
	limiter *replica.Limiter
	client  rlsv3.RateLimitServiceClient
}

func startAsyncReplica(t testing.TB, redisAddr string, engines ...string) *asyncReplica {
	t.Helper()
	lim, err := replica.NewLimiter(replica.Options{
		Engines: replica.HitReporterOptions{Groups: [][]string{engines}, Policy: replica.LoadBalance,
			FlushInterval: 5 * time.Millisecond, Backoff: asyncBackoff, Logger: asyncQuiet},
		Decisions: asyncRedisBus(t, redisAddr),
		Logger:    asyncQuiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lim.Close() })
	svc := ratelimit.NewService(ratelimit.Options{Limiter: lim})
	svc.SetSnapshot(asyncSnapshot(t))
	s := grpc.NewServer()
	svc.Register(s)
	l := asyncListen(t, "")
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return &asyncReplica{limiter: lim, client: rlsv3.NewRateLimitServiceClient(cc)}
}

// ask sends one ShouldRateLimit for key=value, failing the test on any
// error: a replica must answer whatever its dependencies do.
func (r *asyncReplica) ask(t testing.TB, key, value string) rlsv3.RateLimitResponse_Code {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := r.client.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{
		Domain: "integ",
		Descriptors: []*commonrl.RateLimitDescriptor{{
			Entries: []*commonrl.RateLimitDescriptor_Entry{{Key: key, Value: value}},
		}},
	})
	if err != nil {
		t.Fatalf("ShouldRateLimit: %v", err)
	}
	return resp.GetOverallCode()
}

func (r *asyncReplica) engineConnected() bool { return r.limiter.Health().EngineConnected }

func asyncEventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// asyncCacheKey is the key replicas and engines use for key=value now.
func asyncCacheKey(key, value string, unit policy.Unit, now time.Time) string {
	entries := []*commonrl.RateLimitDescriptor_Entry{{Key: key, Value: value}}
	return string(policy.AppendCacheKey(nil, "", "integ", entries, nil, unit.WindowStart(now.Unix())))
}
