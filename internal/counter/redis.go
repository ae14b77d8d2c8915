package counter

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps counters in Redis (single node, Sentinel or Cluster), so that
// every engine and RLS replica pointed at it shares one count and counts
// survive a Floodgate restart. A counter is the key prefix+Key; its expiry
// is set when the key is created and never extended.
type Redis struct {
	client redis.UniversalClient
	prefix string
}

var _ Store = (*Redis)(nil)

// NewRedis counts through client, which stays the caller's: Close does not
// close it, because the engine and the decision bus share it.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// Add sends one pipeline of INCRBY and PEXPIRE NX per increment. On a
// Cluster, go-redis splits the pipeline by node and sends the parts at once.
func (r *Redis) Add(ctx context.Context, incs []Increment, counts []uint64) error {
	if err := checkAdd(incs, counts); err != nil || len(incs) == 0 {
		return err
	}
	pipe := r.client.Pipeline()
	cmds := make([]*redis.IntCmd, len(incs))
	for i, inc := range incs {
		if inc.Hits > math.MaxInt64 {
			return fmt.Errorf("counter %q: %d hits overflow a Redis integer", inc.Key, inc.Hits)
		}
		key := r.prefix + inc.Key
		cmds[i] = pipe.IncrBy(ctx, key, int64(inc.Hits))
		// NX (Redis 7): only a new key, or one that somehow lost its
		// expiry, gets one; a window does not slide with each hit.
		pipe.Do(ctx, "pexpire", key, ceilMillis(inc.Expiry), "nx")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("counter: redis add of %d counters: %w", len(incs), err)
	}
	for i, cmd := range cmds {
		counts[i] = uint64(cmd.Val())
	}
	return nil
}

// Close does nothing: the client belongs to the caller.
func (r *Redis) Close() error { return nil }

func ceilMillis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
