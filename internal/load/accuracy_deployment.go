package load

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"

	"github.com/floodgate/floodgate/internal/cluster"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// DeploymentAccuracyOptions describe accuracy runs against deployments this
// process starts, one per admission mode: Engines engines and Replicas
// replicas on loopback, each case a key of its own.
type DeploymentAccuracyOptions struct {
	Engines, Replicas int // 2 engines when zero; 1 replica when zero
	// Redis is the broker URL the engines count in and decisions travel
	// over; empty: an in-memory bus and counter.
	Redis string
	// Interval is both the replicas' report interval and the engines'
	// flush interval; zero: the components' defaults.
	Interval time.Duration
	// Modes are measured in order, each in a deployment of its own;
	// report then lease when empty.
	Modes []replica.Mode
	// Unit is the limits' window, "minute" or "hour"; minute when empty.
	// No case crosses a window boundary: a case that would waits for the
	// next window.
	Unit string
	// Limit is the cold and warm cases' limit, 1 to 2^31; SmallLimit the
	// small case's, 0 for none.
	Limit, SmallLimit uint64
	Rate              float64 // requests a second; 0 is closed loop
	Workers           int     // callers; 0 is 64
	Duration          time.Duration
	Runs              int           // runs per case; 1 when zero
	WarmOver          time.Duration // the warm case's warm-up; 300ms when zero
	// Faults are the case sets measured, in order: FaultNone's is every
	// case on a healthy deployment, any other fault's the cold case under
	// that fault. FaultNone alone when empty. With FaultRedisRestart the
	// run starts a redis-server of its own for every deployment, so Redis
	// must be empty.
	Faults []Fault
	// RedisDown is how long the redis-restart fault leaves Redis dead
	// before it starts again; 300ms when zero.
	RedisDown time.Duration
}

func (o DeploymentAccuracyOptions) withDefaults() DeploymentAccuracyOptions {
	if o.Engines <= 0 {
		o.Engines = 2
	}
	if len(o.Modes) == 0 {
		o.Modes = []replica.Mode{replica.ModeReport, replica.ModeLease}
	}
	if o.Unit == "" {
		o.Unit = "minute"
	}
	if o.Workers <= 0 {
		o.Workers = 64
	}
	o.Runs = max(o.Runs, 1)
	if o.WarmOver <= 0 {
		o.WarmOver = 300 * time.Millisecond
	}
	if len(o.Faults) == 0 {
		o.Faults = []Fault{FaultNone}
	}
	if o.RedisDown <= 0 {
		o.RedisDown = 300 * time.Millisecond
	}
	return o
}

// AccuracyRow is one run of one case in one mode.
type AccuracyRow struct {
	Mode string
	// Case is cold, warm or small, "+fault" after it under a fault; "#n"
	// follows from the second run on.
	Case  string
	Fault Fault
	// RedisDown is how long Redis did not answer, under the redis-restart
	// fault.
	RedisDown time.Duration
	*AccuracyResult
}

// The cases. Cold: the key's first request is inside the timed run. Warm:
// a twentieth of the limit arrives gently beforehand, as a key in steady
// use would. Small: a limit of a few requests, where any slack is large
// next to it.
const (
	caseCold  = "cold"
	caseWarm  = "warm"
	caseSmall = "small"
)

// DeploymentAccuracy measures, for each fault and mode, how closely a
// deployment holds the limits, writes a line per case and then a table of
// them all to w, and stops each deployment before starting the next.
func DeploymentAccuracy(ctx context.Context, w io.Writer, o DeploymentAccuracyOptions) ([]AccuracyRow, error) {
	o = o.withDefaults()
	snap, unit, err := accuracyPolicy(o.Limit, o.SmallLimit, o.Unit)
	if err != nil {
		return nil, err
	}
	// A case's warm-up, run and drain must fit inside one window.
	need := o.WarmOver + min(o.Duration, MaxDuration) + 2*time.Second
	if need > unit {
		return nil, fmt.Errorf("accuracy: a %v run does not fit in a %s window", o.Duration, o.Unit)
	}
	for _, f := range o.Faults {
		if _, err := ParseFaults(string(f)); err != nil {
			return nil, fmt.Errorf("accuracy: %w", err)
		}
	}
	a := &accuracyRun{o: o, w: w, snap: snap, unit: unit, need: need, busName: "in-memory bus"}
	if o.Redis != "" {
		a.busName = "Redis bus"
	}
	if slices.Contains(o.Faults, FaultRedisRestart) {
		// The run restarts Redis, so it must be a Redis of the run's own.
		if o.Redis != "" {
			return nil, errors.New("accuracy: the redis-restart fault runs a Redis of its own: give no Redis URL")
		}
		if a.redis, err = StartRedisServer(ctx); err != nil {
			return nil, fmt.Errorf("accuracy: %w", err)
		}
		defer a.redis.Stop()
		a.o.Redis, a.busName = a.redis.URL(), "Redis bus (own redis-server on "+a.redis.Addr+")"
	}
	var rows []AccuracyRow
	for _, fault := range o.Faults {
		for _, mode := range o.Modes {
			var modeRows []AccuracyRow
			if fault == FaultNone {
				modeRows, err = a.healthy(ctx, mode)
			} else {
				modeRows, err = a.faulty(ctx, mode, fault)
			}
			rows = append(rows, modeRows...)
			if err != nil {
				return rows, fmt.Errorf("accuracy, %s mode: %w", mode, err)
			}
		}
	}
	fmt.Fprintln(w)
	PrintAccuracyRows(w, rows)
	return rows, nil
}

// accuracyRun is what every case of one DeploymentAccuracy shares.
type accuracyRun struct {
	o          DeploymentAccuracyOptions
	w          io.Writer
	snap       *policy.Snapshot
	unit, need time.Duration
	busName    string
	redis      *RedisServer // the run's own Redis, for the redis-restart fault
}

// deploy starts a fresh deployment in mode and says what it is.
func (a *accuracyRun) deploy(ctx context.Context, mode replica.Mode, fault Fault) (*cluster.Cluster, error) {
	o := a.o
	co := cluster.Options{Engines: o.Engines, Replicas: o.Replicas, Snapshot: a.snap, Mode: mode,
		FlushInterval: o.Interval, ReportInterval: o.Interval, Logger: slog.New(slog.DiscardHandler)}
	if o.Redis != "" {
		co.Redis = []string{o.Redis}
	}
	c, err := cluster.Start(ctx, co)
	if err != nil {
		return nil, err
	}
	load := fmt.Sprintf("closed loop, %d workers", o.Workers)
	if o.Rate > 0 {
		load = fmt.Sprintf("%.0f req/s", o.Rate)
	}
	title := mode.String() + " mode"
	if fault != FaultNone {
		title += ", " + string(fault)
	}
	fmt.Fprintf(a.w, "accuracy, %s: %d engines, %d replicas, %s, %v report and flush intervals, limits per %s, %s for %v\n",
		title, o.Engines, c.Replicas(), a.busName, o.Interval, o.Unit, load, o.Duration)
	return c, nil
}

// healthy runs every case against one fresh deployment in mode.
func (a *accuracyRun) healthy(ctx context.Context, mode replica.Mode) ([]AccuracyRow, error) {
	c, err := a.deploy(ctx, mode, FaultNone)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	cases := []string{caseCold, caseWarm}
	if a.o.SmallLimit > 0 {
		cases = append(cases, caseSmall)
	}
	var rows []AccuracyRow
	for _, name := range cases {
		for run := range a.o.Runs {
			row, err := a.runCase(ctx, c, mode, name, run, FaultNone)
			if err != nil {
				return rows, err
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// faulty runs the cold case under fault, each run in a fresh deployment in
// mode: the fault leaves its deployment short of an engine or its counts.
func (a *accuracyRun) faulty(ctx context.Context, mode replica.Mode, fault Fault) ([]AccuracyRow, error) {
	var rows []AccuracyRow
	for run := range a.o.Runs {
		c, err := a.deploy(ctx, mode, fault)
		if err != nil {
			return rows, err
		}
		row, err := a.runCase(ctx, c, mode, caseCold, run, fault)
		c.Close()
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// runCase runs one case once against c, under fault, and writes its line.
func (a *accuracyRun) runCase(ctx context.Context, c *cluster.Cluster, mode replica.Mode, name string, run int,
	fault Fault) (AccuracyRow, error) {
	o := a.o
	ao := AccuracyOptions{Addrs: c.ReplicaAddrs(), Domain: "bench", Limit: o.Limit, Rate: o.Rate,
		Workers: o.Workers, Duration: o.Duration}
	key := "accuracy"
	switch name {
	case caseWarm:
		ao.Warm, ao.WarmOver = o.Limit/20, o.WarmOver
	case caseSmall:
		ao.Limit, key = o.SmallLimit, "accuracy_small"
	}
	label := fault.caseName(name)
	if run > 0 {
		label += "#" + strconv.Itoa(run+1)
	}
	row := AccuracyRow{Mode: mode.String(), Case: label, Fault: fault}
	if fault != FaultNone {
		ao.Fault = fault.inject(c, a.redis, o.RedisDown, &row)
		ao.FaultAt = min(o.Duration, MaxDuration) / faultShare
	}
	if wait := windowWait(time.Now(), a.unit, a.need); wait > 0 {
		fmt.Fprintf(a.w, "  waiting %v for the next %s, so that the case runs inside one window\n",
			wait.Round(100*time.Millisecond), o.Unit)
		select {
		case <-ctx.Done():
			return row, ctx.Err()
		case <-time.After(wait):
		}
	}
	value := fmt.Sprintf("run-%s-%s-%s", strconv.FormatInt(time.Now().UnixNano(), 36), mode,
		strings.NewReplacer("#", "-", "+", "-").Replace(label))
	ao.Entries = []*ratelimitv3.RateLimitDescriptor_Entry{{Key: key, Value: value}}
	res, err := Accuracy(ctx, ao)
	if err != nil {
		return row, fmt.Errorf("%s case: %w", label, err)
	}
	row.AccuracyResult = res
	fmt.Fprintf(a.w, "  %-6s %-6s limit %d: sent %d, admitted %d, admitted/limit %.3f, %.0f req/s, errors %d",
		row.Mode, row.Case, res.Limit, res.Sent+res.WarmSent, res.InWindow(), res.AdmittedRatio(), res.Throughput(), res.Errors)
	if res.WarmSent > 0 {
		fmt.Fprintf(a.w, " (warm-up: %d sent, %d admitted)", res.WarmSent, res.WarmAdmitted)
	}
	fmt.Fprintln(a.w, row.describeFault())
	return row, nil
}

// windowWait is how long to wait from now for need to fit before the
// current window of length unit ends; windows start on the clock's
// multiples of unit, as the counters' do. The wait overshoots the boundary
// a little, so that a clock a few milliseconds behind agrees.
func windowWait(now time.Time, unit, need time.Duration) time.Duration {
	end := now.Truncate(unit).Add(unit)
	if end.Sub(now) >= need {
		return 0
	}
	return end.Sub(now) + 100*time.Millisecond
}

// PrintAccuracyRows writes rows as a table, each case's modes side by side.
func PrintAccuracyRows(w io.Writer, rows []AccuracyRow) {
	restarts := slices.ContainsFunc(rows, func(r AccuracyRow) bool { return r.Fault == FaultRedisRestart })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "case\tmode\tlimit\tsent\tadmitted\tadmitted/limit\treq/s\terrors\t"
	if restarts {
		head += "redis down\t"
	}
	fmt.Fprintln(tw, head)
	for _, r := range byCase(rows) {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.3f\t%.0f\t%d\t", r.Case, r.Mode, r.Limit, r.Sent+r.WarmSent,
			r.InWindow(), r.AdmittedRatio(), r.Throughput(), r.Errors)
		switch {
		case r.Fault == FaultRedisRestart:
			fmt.Fprintf(tw, "%v\t", r.RedisDown.Round(time.Millisecond))
		case restarts:
			fmt.Fprint(tw, "-\t")
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// WriteAccuracyCSV writes rows to path, each case's modes side by side.
func WriteAccuracyCSV(path string, rows []AccuracyRow) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(file)
	w.Write([]string{"case", "mode", "limit", "sent", "admitted", "admitted_ratio", "rps", "errors", "redis_down_ms"})
	for _, r := range byCase(rows) {
		down := ""
		if r.Fault == FaultRedisRestart {
			down = strconv.FormatInt(r.RedisDown.Milliseconds(), 10)
		}
		w.Write([]string{r.Case, r.Mode, strconv.FormatUint(r.Limit, 10), strconv.FormatUint(r.Sent+r.WarmSent, 10),
			strconv.FormatUint(r.InWindow(), 10), strconv.FormatFloat(r.AdmittedRatio(), 'f', 3, 64),
			strconv.FormatFloat(r.Throughput(), 'f', 0, 64), strconv.FormatUint(r.Errors, 10), down})
	}
	w.Flush()
	return errors.Join(w.Error(), file.Close())
}

// byCase orders rows by case, first seen first, keeping the modes' order
// within each.
func byCase(rows []AccuracyRow) []AccuracyRow {
	var order []string
	seen := map[string][]AccuracyRow{}
	for _, r := range rows {
		if _, ok := seen[r.Case]; !ok {
			order = append(order, r.Case)
		}
		seen[r.Case] = append(seen[r.Case], r)
	}
	var out []AccuracyRow
	for _, c := range order {
		out = append(out, seen[c]...)
	}
	return out
}

// accuracyPolicy is a key limited to limit and, unless small is 0, a key
// limited to small, both per unit. Each case sends a value of its own so
// that cases never share a count.
func accuracyPolicy(limit, small uint64, unit string) (*policy.Snapshot, time.Duration, error) {
	if limit == 0 || limit > 1<<31 || small > 1<<31 {
		return nil, 0, fmt.Errorf("accuracy: limits %d and %d: want 1 to 2^31", limit, small)
	}
	length, ok := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour}[unit]
	if !ok {
		return nil, 0, fmt.Errorf("accuracy: unit %q: want minute or hour", unit)
	}
	rule := func(key string, n uint64) string {
		return "  - key: " + key + "\n    rate_limit: {unit: " + unit + ", requests_per_unit: " + strconv.FormatUint(n, 10) + "}\n"
	}
	doc := "domain: bench\ndescriptors:\n" + rule("accuracy", limit)
	if small > 0 {
		doc += rule("accuracy_small", small)
	}
	snap, err := policy.ParseSnapshot("accuracy.yaml", []byte(doc))
	return snap, length, err
}
