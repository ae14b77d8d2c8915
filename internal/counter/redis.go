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
	client  redis.UniversalClient
	prefix  string
	version versionCheck
}

var _ Store = (*Redis)(nil)

// NewRedis counts through client, which stays the caller's: Close does not
// close it, because the engine and the decision bus share it.
func NewRedis(client redis.UniversalClient, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// incrScript is INCRBY and, on a counter without an expiry (a new one, or
// one that somehow lost it), PEXPIRE: what INCRBY and PEXPIRE NX do on
// Redis 7, in one command that Redis 6 runs too. The expiry is set even when
// INCRBY fails, as the separate PEXPIRE NX did; INCRBY's error is the reply.
// A window does not slide with each hit.
var incrScript = redis.NewScript(`
local n = redis.pcall('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) == -1 then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return n
`)

// Add sends one pipeline of one EVALSHA of incrScript per increment, each on
// one key, so that on a Cluster go-redis splits it by node and sends the
// parts at once. Each key succeeds or fails on its own (KeyErrors): one
// key's error reply must not fail the callers of the other keys the
// pipeline carries. A counter INCRBY cannot raise without passing Redis's
// signed 64-bit range stays where it is and reads as math.MaxInt64: over
// every limit, never wrapped and never an error.
func (r *Redis) Add(ctx context.Context, incs []Increment, counts []uint64) error {
	if err := checkAdd(incs, counts); err != nil || len(incs) == 0 {
		return err
	}
	if err := r.version.check(ctx, r.client); err != nil {
		return err
	}
	keys := make([]string, len(incs))
	args := make([][]any, len(incs))
	cmds := make([]*redis.Cmd, len(incs))
	pipe := r.client.Pipeline()
	for i, inc := range incs {
		keys[i] = r.prefix + inc.Key
		// More than INCRBY takes overflows anyway: send the most it takes.
		args[i] = []any{int64(min(inc.Hits, math.MaxInt64)), ceilMillis(inc.Expiry)}
		cmds[i] = incrScript.EvalSha(ctx, pipe, keys[i:i+1], args[i]...)
	}
	_, err := pipe.Exec(ctx)
	if err != nil {
		err = r.evalUnloaded(ctx, incrScript, keys, args, cmds, err)
	}
	if err == nil {
		for i, cmd := range cmds {
			n, _ := cmd.Int64()
			counts[i] = uint64(n)
		}
		return nil
	}
	errs := make([]error, len(incs))
	var overflowed []int
	replied, failed := false, 0
	for i, cmd := range cmds {
		cerr := cmd.Err()
		switch {
		case cerr == nil:
			n, _ := cmd.Int64()
			counts[i] = uint64(n)
		case isOverflow(cerr):
			overflowed = append(overflowed, i)
		default:
			errs[i] = fmt.Errorf("counter %q: redis incrby: %w", incs[i].Key, cerr)
			failed++
		}
		replied = replied || cerr != nil
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
