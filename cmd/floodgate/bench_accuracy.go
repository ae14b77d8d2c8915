package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	gostats "github.com/lyft/gostats"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/load"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// runAccuracy measures how closely a multi-replica async deployment holds
// a limit: an engine and several replicas in this process, on loopback
// ports, over an in-memory bus or Redis.
func runAccuracy(ctx context.Context, w io.Writer, f *benchFlags) (*load.AccuracyResult, error) {
	snap, key, err := accuracyPolicy(f.limit)
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	stats := gostats.NewStore(gostats.NewNullSink(), false)

	var (
		bus interface {
			decisions.Publisher
			decisions.Subscriber
		} = &decisions.MemoryBus{}
		store counter.Store = counter.NewMemory()
	)
	if f.redis != "" {
		b, err := openBrokers([]string{f.redis}, stats, quiet)
		if err != nil {
			return nil, err
		}
		defer b.close()
		bus, store = b.bus, counter.NewRedis(b.clients[0], "")
	}
	defer store.Close()

	engine, err := decisions.NewEngine(decisions.EngineOptions{Counter: store, Publisher: bus, FlushInterval: f.interval,
		Stats: stats, Logger: quiet})
	if err != nil {
		return nil, err
	}
	defer engine.Close()
	engine.SetSnapshot(snap)
	engineAddr, stopEngine, err := serveLoopback(engine.Register)
	if err != nil {
		return nil, err
	}
	defer stopEngine()

	var addrs []string
	for range f.replicas {
		lim, err := replica.NewLimiter(replica.Options{
			Engines:   replica.HitReporterOptions{Groups: [][]string{{engineAddr}}, FlushInterval: f.interval},
			Decisions: bus, Stats: stats, Logger: quiet,
		})
		if err != nil {
			return nil, err
		}
		defer lim.Close()
		svc := ratelimit.NewService(ratelimit.Options{Limiter: lim, Stats: stats})
		svc.SetSnapshot(snap)
		addr, stop, err := serveLoopback(svc.Register, rlsServerOptions()...)
		if err != nil {
			return nil, err
		}
		defer stop()
		addrs = append(addrs, addr)
		for deadline := time.Now().Add(5 * time.Second); !lim.Health().EngineConnected; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				return nil, errors.New("accuracy: a replica could not reach the engine")
			}
		}
	}

	rate := f.rate
	if rate == 0 {
		rate = 2000
	}
	res, err := load.Accuracy(ctx, load.AccuracyOptions{Addrs: addrs, Domain: "bench", Limit: f.limit, Rate: rate,
		Duration: f.duration, Entries: []*ratelimitv3.RateLimitDescriptor_Entry{{Key: "accuracy", Value: key}}})
	if err != nil {
		return nil, err
	}
	busName := "in-memory bus"
	if f.redis != "" {
		busName = "Redis bus"
	}
	fmt.Fprintf(w, "accuracy: %d replicas, %s, %v report and flush intervals, limit %d, %.0f req/s for %v\n",
		f.replicas, busName, f.interval, f.limit, rate, f.duration)
	fmt.Fprintf(w, "  sent %d, admitted %d: admitted/limit %.3f, errors %d\n", res.Sent, res.Admitted, res.AdmittedRatio(), res.Errors)
	fmt.Fprintf(w, "  limit crossed -> last replica enforcing: %v (per replica %v)\n", res.Delay, res.PerReplica)
	return res, nil
}

// accuracyPolicy is one key, limited per hour so that no window ends
// during a run, with a value of its own so runs never share a count.
func accuracyPolicy(limit uint64) (*policy.Snapshot, string, error) {
	if limit == 0 || limit > 1<<31 {
		return nil, "", fmt.Errorf("--limit %d: want 1 to 2^31", limit)
	}
	doc := "domain: bench\ndescriptors:\n  - key: accuracy\n    rate_limit: {unit: hour, requests_per_unit: " + strconv.FormatUint(limit, 10) + "}\n"
	snap, err := policy.ParseSnapshot("accuracy.yaml", []byte(doc))
	return snap, "run-" + strconv.FormatInt(time.Now().UnixNano(), 36), err
}

// serveLoopback serves a gRPC service on a free loopback port.
func serveLoopback(register func(*grpc.Server), opts ...grpc.ServerOption) (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	g := grpc.NewServer(opts...)
	register(g)
	go g.Serve(lis)
	return lis.Addr().String(), g.Stop, nil
}
