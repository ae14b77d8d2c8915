package load

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/ratelimit/replica"
)

// Lease mode holds every case within its overdraft and spends nearly all
// of the limit; report mode is measured, not bounded, as its slack grows
// with rate × delay.
func TestDeploymentAccuracyModes(t *testing.T) {
	var out bytes.Buffer
	const limit = 200
	rows, err := DeploymentAccuracy(context.Background(), &out, DeploymentAccuracyOptions{Replicas: 2,
		Interval: 5 * time.Millisecond, Unit: "hour", Limit: limit, SmallLimit: 20, Workers: 16,
		Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.Mode+" "+r.Case] = true
		if r.Sent == 0 || r.InWindow() > r.Sent+r.WarmSent {
			t.Errorf("%s %s: admitted %d of %d sent", r.Mode, r.Case, r.InWindow(), r.Sent+r.WarmSent)
		}
		if r.Case == caseWarm && r.WarmSent != limit/20 {
			t.Errorf("%s warm: %d warm-up requests, want %d", r.Mode, r.WarmSent, limit/20)
		}
		if r.Mode != replica.ModeLease.String() {
			continue
		}
		if got := float64(r.InWindow()); got > float64(r.Limit)*1.01 || got < float64(r.Limit)*0.9 {
			t.Errorf("lease %s: admitted %d against a limit of %d\n%s", r.Case, r.InWindow(), r.Limit, out.String())
		}
	}
	for _, want := range []string{"report cold", "report warm", "report small", "lease cold", "lease warm", "lease small"} {
		if !seen[want] {
			t.Errorf("no %s row in %v", want, rows)
		}
	}
	for _, want := range []string{"report mode: 2 engines, 2 replicas, in-memory bus", "lease mode", "closed loop, 16 workers",
		"admitted/limit", "warm-up: 10 sent"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// Open loop still works, and one mode may be measured alone.
func TestDeploymentAccuracyOpenLoop(t *testing.T) {
	var out bytes.Buffer
	rows, err := DeploymentAccuracy(context.Background(), &out, DeploymentAccuracyOptions{Replicas: 2,
		Modes: []replica.Mode{replica.ModeReport}, Unit: "hour", Interval: 5 * time.Millisecond, Limit: 50, Rate: 1000,
		Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Case != caseCold || rows[1].Case != caseWarm {
		t.Fatalf("rows %v", rows)
	}
	for _, r := range rows {
		// The async path never refuses before the engine has counted the
		// limit.
		if r.InWindow() < r.Limit || r.InWindow() >= r.Sent+r.WarmSent {
			t.Fatalf("%s: admitted %d of %d sent, limit %d", r.Case, r.InWindow(), r.Sent+r.WarmSent, r.Limit)
		}
	}
	if !strings.Contains(out.String(), "1000 req/s") {
		t.Fatalf("report:\n%s", out.String())
	}
}

func TestDeploymentAccuracyChecksItsOptions(t *testing.T) {
	for _, o := range []DeploymentAccuracyOptions{
		{Limit: 0, Unit: "hour"},
		{Limit: 1<<31 + 1, Unit: "hour"},
		{Limit: 10, SmallLimit: 1<<31 + 1, Unit: "hour"},
		{Limit: 10, Unit: "day"},
		{Limit: 10, Unit: "minute", Duration: time.Minute},
		{Limit: 10, Unit: "hour", Faults: []Fault{"disk-full"}},
		{Limit: 10, Unit: "hour", Faults: []Fault{FaultRedisRestart}, Redis: "redis://127.0.0.1:1"},
	} {
		o.Replicas, o.Duration = 1, max(o.Duration, time.Second)
		if _, err := DeploymentAccuracy(context.Background(), nil, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestWindowWait(t *testing.T) {
	minute := time.Date(2026, 1, 1, 10, 20, 0, 0, time.UTC)
	for _, tc := range []struct {
		now        time.Time
		need, want time.Duration
	}{
		{minute, 4 * time.Second, 0},
		{minute.Add(56 * time.Second), 4 * time.Second, 0},
		{minute.Add(57 * time.Second), 4 * time.Second, 3100 * time.Millisecond},
		{minute.Add(59*time.Second + 900*time.Millisecond), 4 * time.Second, 200 * time.Millisecond},
	} {
		if got := windowWait(tc.now, time.Minute, tc.need); got != tc.want {
			t.Errorf("at %v needing %v: wait %v, want %v", tc.now.Format("15:04:05.000"), tc.need, got, tc.want)
		}
	}
}
