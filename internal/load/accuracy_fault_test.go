package load

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/ratelimit/replica"
)

// Lease mode holds the limit through the loss of an engine mid-run: the
// replicas ask the other engine, which grants from the same count.
func TestDeploymentAccuracyEngineKill(t *testing.T) {
	var out bytes.Buffer
	const limit = 1000
	rows, err := DeploymentAccuracy(context.Background(), &out, DeploymentAccuracyOptions{Replicas: 3,
		Modes: []replica.Mode{replica.ModeLease}, Faults: []Fault{FaultEngineKill}, Interval: 5 * time.Millisecond,
		Unit: "hour", Limit: limit, Rate: 5000, Duration: 450 * time.Millisecond})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log(out.String())
	if len(rows) != 1 {
		t.Fatalf("rows %v, want the cold case alone", rows)
	}
	r := rows[0]
	if r.Case != "cold+engine-kill" || r.Fault != FaultEngineKill || r.FaultAt <= 0 {
		t.Fatalf("row %+v, want cold+engine-kill with the engine stopped mid-run", r)
	}
	if r.Errors != 0 {
		t.Errorf("%d requests failed", r.Errors)
	}
	if got := float64(r.InWindow()); got > limit*1.01 {
		t.Errorf("admitted %d against a limit of %d\n%s", r.InWindow(), limit, out.String())
	}
	for _, want := range []string{"lease mode, engine-kill: 2 engines, 3 replicas", "engine 0 stopped"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// The redis-restart fault starts a Redis of the run's own and restarts it
// empty mid-run; the replicas answer every request meanwhile.
func TestDeploymentAccuracyRedisRestart(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not in PATH")
	}
	var out bytes.Buffer
	const down = 150 * time.Millisecond
	rows, err := DeploymentAccuracy(context.Background(), &out, DeploymentAccuracyOptions{Replicas: 3,
		Modes: []replica.Mode{replica.ModeLease}, Faults: []Fault{FaultRedisRestart}, RedisDown: down,
		Interval: 5 * time.Millisecond, Unit: "hour", Limit: 500, Rate: 5000, Duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log(out.String())
	if len(rows) != 1 {
		t.Fatalf("rows %v, want the cold case alone", rows)
	}
	r := rows[0]
	if r.Case != "cold+redis-restart" || r.Fault != FaultRedisRestart || r.FaultAt <= 0 || r.RedisDown < down {
		t.Fatalf("row %+v, want cold+redis-restart with Redis down at least %v", r, down)
	}
	if r.Errors != 0 {
		t.Errorf("%d requests failed\n%s", r.Errors, out.String())
	}
	for _, want := range []string{"own redis-server on 127.0.0.1:", "Redis down", "redis down"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseFaults(t *testing.T) {
	got, err := ParseFaults("engine-kill, redis-restart,engine-kill")
	if err != nil || len(got) != 2 || got[0] != FaultEngineKill || got[1] != FaultRedisRestart {
		t.Fatalf("ParseFaults = %v, %v", got, err)
	}
	for _, bad := range []string{"", "none,", "kill"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
