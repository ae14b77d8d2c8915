package counter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
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
// Each key succeeds or fails on its own (KeyErrors): one key's error reply
// must not fail the callers of the other keys the pipeline carries. A
// counter INCRBY cannot raise without passing Redis's signed 64-bit range
// stays where it is and reads as math.MaxInt64: over every limit, never
// wrapped and never an error.
func (r *Redis) Add(ctx context.Context, incs []Increment, counts []uint64) error {
	if err := checkAdd(incs, counts); err != nil || len(incs) == 0 {
		return err
	}
	pipe := r.client.Pipeline()
	incrs := make([]*redis.IntCmd, len(incs))
	expires := make([]*redis.Cmd, len(incs))
	for i, inc := range incs {
		key := r.prefix + inc.Key
		// More than INCRBY takes overflows anyway: send the most it takes.
		incrs[i] = pipe.IncrBy(ctx, key, int64(min(inc.Hits, math.MaxInt64)))
		// NX (Redis 7): only a new key, or one that somehow lost its
		// expiry, gets one; a window does not slide with each hit.
		expires[i] = pipe.Do(ctx, "pexpire", key, ceilMillis(inc.Expiry), "nx")
	}
	_, err := pipe.Exec(ctx)
	if err == nil {
		for i, cmd := range incrs {
			counts[i] = uint64(cmd.Val())
		}
		return nil
	}
	errs := make([]error, len(incs))
	var overflowed []int
	replied, failed := false, 0
	for i, cmd := range incrs {
		switch err := cmd.Err(); {
		case err == nil:
			counts[i] = uint64(cmd.Val())
		case isOverflow(err):
			overflowed = append(overflowed, i)
		default:
			errs[i] = fmt.Errorf("counter %q: redis incrby: %w", incs[i].Key, err)
		}
		if err := expires[i].Err(); err != nil && errs[i] == nil {
			errs[i] = fmt.Errorf("counter %q: redis pexpire: %w", incs[i].Key, err)
		}
		if errs[i] != nil {
			failed++
		}
		replied = replied || cmd.Err() != nil || expires[i].Err() != nil
	}
	if !replied || (failed == len(incs) && !isReply(err)) {
		// Nothing got through (the connection, a timeout, a refused login
		// that go-redis reports on no command): one error says it.
		return fmt.Errorf("counter: redis add of %d counters: %w", len(incs), err)
	}
	r.saturate(ctx, incs, overflowed, counts, errs)
	return keyErrors(errs)
}

// saturate raises the counters whose INCRBY Redis refused as an overflow to
// math.MaxInt64, where they stay until they expire: INCRBY leaves the value
// as it was, and later smaller adds must not read a lower count than this
// one. Raising to the maximum is right whatever other writers did meanwhile,
// and XX KEEPTTL neither revives a counter that expired meanwhile nor
// changes its expiry.
func (r *Redis) saturate(ctx context.Context, incs []Increment, overflowed []int, counts []uint64, errs []error) {
	if len(overflowed) == 0 {
		return
	}
	pipe := r.client.Pipeline()
	sets := make([]*redis.StatusCmd, len(overflowed))
	for j, i := range overflowed {
		sets[j] = pipe.SetArgs(ctx, r.prefix+incs[i].Key, math.MaxInt64, redis.SetArgs{Mode: "XX", KeepTTL: true})
	}
	pipe.Exec(ctx) // each command's error is read below
	for j, i := range overflowed {
		if err := sets[j].Err(); err != nil && !errors.Is(err, redis.Nil) {
			errs[i] = fmt.Errorf("counter %q: redis set to its maximum after an overflow: %w", incs[i].Key, err)
			continue
		}
		counts[i] = math.MaxInt64
	}
}

// isReply reports whether err is an error reply from Redis about one
// command, rather than a failure of the connection.
func isReply(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && !errors.Is(err, redis.ErrClosed)
}

// isOverflow reports Redis's refusal of an INCRBY past int64.
func isOverflow(err error) bool {
	return isReply(err) && strings.Contains(err.Error(), "would overflow")
}

// Close does nothing: the client belongs to the caller.
func (r *Redis) Close() error { return nil }

func ceilMillis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
