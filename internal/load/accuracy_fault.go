package load

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/floodgate/floodgate/internal/cluster"
)

// Fault is what an accuracy case breaks while its load runs. A fault's
// case set is the cold case alone, run in a deployment of its own, since
// the fault leaves the deployment broken or emptied for whatever follows.
type Fault string

const (
	// FaultNone runs every case on a healthy deployment.
	FaultNone Fault = "none"
	// FaultEngineKill stops engine 0 as a crash would.
	FaultEngineKill Fault = "engine-kill"
	// FaultRedisRestart kills the deployment's Redis and starts it again
	// empty on the same port; the run then owns its Redis.
	FaultRedisRestart Fault = "redis-restart"
)

// faultShare is how far into the timed run a fault strikes: late enough
// that the key is in full use, early enough to see the deployment after.
const faultShare = 3

// ParseFaults reads a comma-separated list of faults.
func ParseFaults(s string) ([]Fault, error) {
	var faults []Fault
	for _, name := range strings.Split(s, ",") {
		f := Fault(strings.TrimSpace(name))
		switch f {
		case FaultNone, FaultEngineKill, FaultRedisRestart:
		default:
			return nil, fmt.Errorf("fault %q: want none, engine-kill or redis-restart", name)
		}
		if !slices.Contains(faults, f) {
			faults = append(faults, f)
		}
	}
	return faults, nil
}

// caseName is a case's name with its fault, if any.
func (f Fault) caseName(name string) string {
	if f == FaultNone || f == "" {
		return name
	}
	return name + "+" + string(f)
}

// inject returns the function that breaks c mid-run, which records on row
// what it did.
func (f Fault) inject(c *cluster.Cluster, redis *RedisServer, down time.Duration, row *AccuracyRow) func(context.Context) error {
	switch f {
	case FaultEngineKill:
		return func(context.Context) error {
			c.StopEngine(0)
			return nil
		}
	case FaultRedisRestart:
		return func(ctx context.Context) error {
			var err error
			row.RedisDown, err = redis.Restart(ctx, down)
			return err
		}
	}
	return nil
}

// describeFault says what the fault did, for the case's line.
func (r *AccuracyRow) describeFault() string {
	switch r.Fault {
	case FaultEngineKill:
		return fmt.Sprintf(", engine 0 stopped %v into the run", r.FaultAt.Round(time.Millisecond))
	case FaultRedisRestart:
		return fmt.Sprintf(", Redis down %v from %v into the run", r.RedisDown.Round(time.Millisecond),
			r.FaultAt.Round(time.Millisecond))
	}
	return ""
}
