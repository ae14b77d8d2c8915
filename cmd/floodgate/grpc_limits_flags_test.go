package main

import (
	"context"
	"flag"
	"strings"
	"testing"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/ratelimit"
)

// blockingLimiter holds every call until release is closed, saying on
// held that it holds one.
type blockingLimiter struct {
	held    chan struct{}
	release chan struct{}
}

func (l *blockingLimiter) Limit(context.Context, []*ratelimit.Item) error {
	l.held <- struct{}{}
	<-l.release
	return nil
}

// The RLS built from the flags refuses, naming the bound, a call over
// --max-inflight while calls are held by the limiter, and a request over
// --max-recv-msg-size.
func TestRLSOverloadFlags(t *testing.T) {
	fs := flag.NewFlagSet("rls", flag.ContinueOnError)
	var f rlsFlags
	f.register(fs)
	if err := parseFlags(fs, []string{"--config", shutdownPolicies(t), "--max-inflight", "2", "--max-recv-msg-size", "2048"}); err != nil {
		t.Fatal(err)
	}
	stats := nullstats.Scope()
	lim := &blockingLimiter{held: make(chan struct{}, 2), release: make(chan struct{})}
	svc := newService(&f, lim, stats)
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := f.policies.start(ctx, stats, svc.SetSnapshot, svc.RejectSnapshot); err != nil {
		t.Fatal(err)
	}
	srv := serving.New(f.serving.options(stats, rlsServerOptions()...))
	svc.Register(srv.GRPC)
	lis, err := serving.Listen("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, lis) }()
	defer func() {
		cancel()
		testkit.Receive(t, "the server to stop", served)
	}()

	rls := rlsv3.NewRateLimitServiceClient(rlsConn(t, lis.LoopbackGRPC()))
	req := func(value string) *rlsv3.RateLimitRequest {
		return &rlsv3.RateLimitRequest{Domain: "d", Descriptors: []*ratelimitv3.RateLimitDescriptor{{
			Entries: []*ratelimitv3.RateLimitDescriptor_Entry{{Key: "k", Value: value}}}}}
	}
	_, err = rls.ShouldRateLimit(context.Background(), req(strings.Repeat("v", 4096)))
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "vs. 2048") {
		t.Errorf("a request over --max-recv-msg-size = %v; want ResourceExhausted naming 2048", err)
	}

	errs := make(chan error, 2)
	for range 2 {
		go func() { _, err := rls.ShouldRateLimit(context.Background(), req("a")); errs <- err }()
	}
	testkit.Receive(t, "the first call held", lim.held)
	testkit.Receive(t, "the second call held", lim.held)
	_, err = rls.ShouldRateLimit(context.Background(), req("b"))
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "over --max-inflight 2") {
		t.Errorf("a call over --max-inflight = %v; want ResourceExhausted naming --max-inflight 2", err)
	}
	if n := stats.NewCounter("grpc.inflight_refused").Value(); n != 1 {
		t.Errorf("grpc.inflight_refused = %d, want 1", n)
	}
	close(lim.release)
	for range 2 {
		if err := testkit.Receive(t, "a held call to end", errs); err != nil {
			t.Errorf("held call: %v", err)
		}
	}
}

// An engine takes at least the largest hit batch whatever
// --max-recv-msg-size says, and more when it says more.
func TestEngineRecvLimitCoversAHitBatch(t *testing.T) {
	for _, tc := range []struct{ flag, want int }{
		{1024, decisions.MaxHitBatchBytes},
		{decisions.MaxHitBatchBytes * 2, decisions.MaxHitBatchBytes * 2},
	} {
		o := recvAtLeast(serving.Options{Limits: serving.GRPCLimits{MaxRecvMsgSize: tc.flag}}, decisions.MaxHitBatchBytes)
		if o.Limits.MaxRecvMsgSize != tc.want {
			t.Errorf("--max-recv-msg-size %d: the engine takes %d, want %d", tc.flag, o.Limits.MaxRecvMsgSize, tc.want)
		}
	}
}
