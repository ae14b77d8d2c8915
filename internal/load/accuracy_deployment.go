package load

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/policy"
)

// DeploymentAccuracyOptions describe an accuracy run against a deployment
// this process starts: one engine and Replicas replicas on loopback, one key
// limited to Limit an hour, driven at Rate for Duration.
type DeploymentAccuracyOptions struct {
	Replicas int
	// Redis is the broker URL the engine counts in and decisions travel
	// over; empty: an in-memory bus and counter.
	Redis string
	// Interval is both the replicas' report interval and the engine's
	// flush interval; zero: the components' defaults.
	Interval time.Duration
	Limit    uint64  // 1 to 2^31
	Rate     float64 // requests a second; 2000 when zero
	Duration time.Duration
}

func (o DeploymentAccuracyOptions) withDefaults() DeploymentAccuracyOptions {
	if o.Rate == 0 {
		o.Rate = 2000
	}
	return o
}

// DeploymentAccuracy starts the deployment o describes, measures how
// closely it holds the limit, writes a report of it to w, and stops the
// deployment.
func DeploymentAccuracy(ctx context.Context, w io.Writer, o DeploymentAccuracyOptions) (*AccuracyResult, error) {
	o = o.withDefaults()
	snap, value, err := accuracyPolicy(o.Limit)
	if err != nil {
		return nil, err
	}
	co := cluster.Options{Engines: 1, Replicas: o.Replicas, Snapshot: snap,
		FlushInterval: o.Interval, ReportInterval: o.Interval, Logger: slog.New(slog.DiscardHandler)}
	busName := "in-memory bus"
	if o.Redis != "" {
		co.Redis, busName = []string{o.Redis}, "Redis bus"
	}
	c, err := cluster.Start(ctx, co)
	if err != nil {
		return nil, fmt.Errorf("accuracy: %w", err)
	}
	defer c.Close()

	res, err := Accuracy(ctx, AccuracyOptions{Addrs: c.ReplicaAddrs(), Domain: "bench", Limit: o.Limit, Rate: o.Rate,
		Duration: o.Duration, Entries: []*ratelimitv3.RateLimitDescriptor_Entry{{Key: "accuracy", Value: value}}})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "accuracy: %d replicas, %s, %v report and flush intervals, limit %d, %.0f req/s for %v\n",
		c.Replicas(), busName, o.Interval, o.Limit, o.Rate, o.Duration)
	fmt.Fprintf(w, "  sent %d, admitted %d: admitted/limit %.3f, errors %d\n", res.Sent, res.Admitted, res.AdmittedRatio(), res.Errors)
	fmt.Fprintf(w, "  limit crossed -> last replica enforcing: %v (per replica %v)\n", res.Delay, res.PerReplica)
	return res, nil
}

// accuracyPolicy is one key, limited per hour so that no window ends
// during a run, with a value of its own so runs never share a count.
func accuracyPolicy(limit uint64) (*policy.Snapshot, string, error) {
	if limit == 0 || limit > 1<<31 {
		return nil, "", fmt.Errorf("accuracy: limit %d: want 1 to 2^31", limit)
	}
	doc := "domain: bench\ndescriptors:\n  - key: accuracy\n    rate_limit: {unit: hour, requests_per_unit: " + strconv.FormatUint(limit, 10) + "}\n"
	snap, err := policy.ParseSnapshot("accuracy.yaml", []byte(doc))
	return snap, "run-" + strconv.FormatInt(time.Now().UnixNano(), 36), err
}
