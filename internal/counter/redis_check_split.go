package counter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// refundScript takes back a charge of checkScript: DECRBY (never below 0)
// for a window's count, the TAT moved back by the cost for a bucket. KEYS[1]
// is the counter; ARGV: algorithm, hits, rate, cost µs, cost rest, now (µs).
var refundScript = redis.NewScript(`
local alg, hits = tonumber(ARGV[1]), tonumber(ARGV[2])
local v = redis.call('GET', KEYS[1])
if not v or hits == 0 then return 0 end
if alg ~= 2 then
	local c = tonumber(v)
	if c and c > 0 then redis.call('DECRBY', KEYS[1], math.min(c, hits)) end
	return 0
end
local us, r = string.match(v, '^(%d+):(%d+)$')
if not us then return 0 end
us, r = tonumber(us) - tonumber(ARGV[4]), tonumber(r) - tonumber(ARGV[5])
if r < 0 then us, r = us - 1, r + tonumber(ARGV[3]) end
if us < tonumber(ARGV[6]) then
	redis.call('DEL', KEYS[1])
else
	redis.call('SET', KEYS[1], string.format('%d:%d', us, r), 'KEEPTTL')
end
return 0
`)

// checkSplit checks a request whose keys lie in several Cluster slots, where
// no script may take them all: it reads the sliding windows' previous
// counts (windows that have ended, which nothing charges any more), then
// runs the check script on each limit's key alone, all in one pipeline
// that the client splits by node, and takes back the charges of the limits
// that admitted when another did not. So a denied request is never left
// charged, but between the two steps its charges are visible to other
// requests, which may then be denied by up to this request's hits. It costs
// one round trip more per step: a request with sliding windows or a denial.
func (r *Redis) checkSplit(ctx context.Context, now time.Time, limits []Limit, out []Verdict) (bool, error) {
	prevs := make([]int64, len(limits))
	var gets []*redis.StringCmd
	pipe := r.client.Pipeline()
	for i, l := range limits {
		prevs[i] = -1
		if l.Algorithm == SlidingWindow {
			gets = append(gets, pipe.Get(ctx, r.prefix+l.PrevKey))
		}
	}
	if len(gets) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return false, fmt.Errorf("counter: redis read of %d previous windows: %w", len(gets), err)
		}
		j := 0
		for i, l := range limits {
			if l.Algorithm != SlidingWindow {
				continue
			}
			n, err := gets[j].Int64()
			j++
			if err != nil && !errors.Is(err, redis.Nil) {
				return false, fmt.Errorf("counter %q: redis read of the previous window: %w", l.PrevKey, err)
			}
			prevs[i] = max(n, 0)
		}
	}
	cmds := make([]*redis.Cmd, len(limits))
	keys := make([]string, len(limits))
	args := make([][]any, len(limits))
	pipe = r.client.Pipeline()
	for i, l := range limits {
		c := checkCall{args: []any{1}}
		r.appendLimit(&c, now, l, prevs[i])
		keys[i], args[i] = c.keys[0], c.args
		cmds[i] = checkScript.EvalSha(ctx, pipe, keys[i:i+1], args[i]...)
	}
	_, err := pipe.Exec(ctx)
	if err != nil {
		// A node that lost the script ran nothing of its calls: send them again.
		err = r.evalUnloaded(ctx, checkScript, keys, args, cmds, err)
	}
	if err != nil {
		// Some limits may have been charged: take them back.
		r.refund(ctx, now, limits, cmds)
		return false, fmt.Errorf("counter: redis check of %d limits (%s): %w", len(limits), limits[0].Key, err)
	}
	res := make([][]int64, len(limits))
	admitted := true
	for i, cmd := range cmds {
		v, err := cmd.Int64Slice()
		if err == nil && len(v) != 4 {
			err = fmt.Errorf("unexpected reply of %d values", len(v))
		}
		if err != nil {
			r.refund(ctx, now, limits, cmds)
			return false, fmt.Errorf("counter %q: redis check: %w", limits[i].Key, err)
		}
		res[i] = v
		admitted = admitted && v[0] == 1
	}
	if !admitted {
		r.refund(ctx, now, limits, cmds)
	}
	for i, l := range limits {
		out[i] = verdictOf(now, l, res[i][2], res[i][3], admitted)
	}
	return admitted, nil
}

// refund takes back the charges of the limits whose script admitted (or
// whose answer was lost: a refund of what was never charged takes back
// another request's hits, which only errs towards admitting one more).
func (r *Redis) refund(ctx context.Context, now time.Time, limits []Limit, cmds []*redis.Cmd) {
	pipe := r.client.Pipeline()
	n := 0
	for i, l := range limits {
		if cmds[i] == nil || l.Hits == 0 {
			continue
		}
		v, err := cmds[i].Int64Slice()
		if err == nil && (len(v) != 4 || v[0] != 1) {
			continue
		}
		if err != nil && isReply(err) {
			continue // the script refused to run: nothing charged
		}
		args := []any{int(l.Algorithm), l.Hits, 0, 0, 0, now.UnixMicro()}
		if l.Algorithm == TokenBucket {
			bk, _ := newBucket(l)
			q, rest, _, _ := bk.costArgs(l.Hits)
			args[2], args[3], args[4] = bk.rate, q, rest
		}
		refundScript.Eval(ctx, pipe, []string{r.prefix + l.Key}, args...)
		n++
	}
	if n > 0 {
		pipe.Exec(ctx) // best effort: a lost refund over-counts until the window ends
	}
}

// hashSlot is a key's Redis Cluster slot: CRC16 (XMODEM) of the key, or of
// its hash tag (clusterHashTag).
func hashSlot(key string) uint16 {
	key = clusterHashTag(key)
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc % 16384
}
