package counter

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	_ Checker     = (*Redis)(nil)
	_ AlgoGranter = (*Redis)(nil)
)

// checkArgs is how many ARGV the check script takes per limit.
const checkArgs = 8

// checkScript decides a request against ARGV[1] limits and charges every
// one only when none is over. Per limit, ARGV holds checkArgs values:
// algorithm, hits, then
//
//	fixed:   limit, ttl (ms)                                  KEYS: count
//	sliding: limit, weight, ttl (ms), previous count or -1    KEYS: count [, previous count when -1]
//	bucket:  now (µs), rate, cost µs, cost rest, span µs, span rest   KEYS: TAT
//
// It returns {admitted, then per limit: over, x, y}: x, y are the state
// before the request (fixed: count, 0; sliding: previous count, count;
// bucket: TAT µs and rest, at least now) from which the caller computes the
// verdict (sliding.go, gcra.go). The weight, costs and spans are computed by
// the caller, exactly; here every number is exact in a double.
var checkScript = redis.NewScript(`
local n = tonumber(ARGV[1])
local function count(v)
	if not v then return 0 end
	local x = tonumber(v)
	if not x or x < 0 or x ~= math.floor(x) then error('value is not a count') end
	return x
end
local res, st = {1}, {}
local k = 1
for i = 1, n do
	local b = 2 + (i - 1) * 8
	local alg, hits = tonumber(ARGV[b]), tonumber(ARGV[b + 1])
	local over, x, y
	if alg == 0 then
		x, y = count(redis.call('GET', KEYS[k])), 0
		over = x + hits > tonumber(ARGV[b + 2])
		st[i] = {KEYS[k], tonumber(ARGV[b + 3])}
		k = k + 1
	elseif alg == 1 then
		local key = KEYS[k]
		k = k + 1
		y = count(redis.call('GET', key))
		x = tonumber(ARGV[b + 5])
		if x < 0 then
			x = count(redis.call('GET', KEYS[k]))
			k = k + 1
		end
		local part = math.ceil(math.min(x, 68719476736) * tonumber(ARGV[b + 3]) / 65536)
		over = y + part + hits > tonumber(ARGV[b + 2])
		st[i] = {key, tonumber(ARGV[b + 4])}
	else
		local now, rate = tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
		local v = redis.call('GET', KEYS[k])
		x, y = now, 0
		if v then
			local us, r = string.match(v, '^(%d+):(%d+)$')
			if not us then error('value is not a token bucket') end
			us, r = tonumber(us), math.min(tonumber(r), rate - 1)
			if us >= now then x, y = us, r end
		end
		local us, r = x + tonumber(ARGV[b + 4]), y + tonumber(ARGV[b + 5])
		if r >= rate then us, r = us + 1, r - rate end
		local du, span = us - now, tonumber(ARGV[b + 6])
		over = du > span or (du == span and r > tonumber(ARGV[b + 7]))
		st[i] = {KEYS[k], us, r, du}
		k = k + 1
	end
	if over then res[1] = 0 end
	res[#res + 1] = over and 1 or 0
	res[#res + 1] = x
	res[#res + 1] = y
end
if res[1] == 1 then
	for i = 1, n do
		local b = 2 + (i - 1) * 8
		local alg, hits, s = tonumber(ARGV[b]), tonumber(ARGV[b + 1]), st[i]
		if hits > 0 and alg == 2 then
			redis.call('SET', s[1], string.format('%d:%d', s[2], s[3]), 'PX', math.floor(s[4] / 1000) + 2)
		elseif hits > 0 then
			redis.call('INCRBY', s[1], hits)
			if redis.call('PTTL', s[1]) == -1 then
				redis.call('PEXPIRE', s[1], s[2])
			end
		end
	end
end
return res
`)

// checkCall is one script call's keys and arguments.
type checkCall struct {
	keys []string
	args []any
}

// appendLimit adds l to a call; prev is the previous window's count when
// the caller has read it (-1 to read it in the script).
func (r *Redis) appendLimit(c *checkCall, now time.Time, l Limit, prev int64) {
	c.keys = append(c.keys, r.prefix+l.Key)
	switch l.Algorithm {
	case FixedWindow:
		c.args = append(c.args, 0, l.Hits, l.Limit, ceilMillis(windowLeft(now, l)), 0, 0, 0, 0)
	case SlidingWindow:
		w := slidingWeight(now.Sub(time.Unix(l.WindowStart, 0)), l.Window)
		c.args = append(c.args, 1, l.Hits, l.Limit, w, ceilMillis(slidingTTL(now, l)), prev, 0, 0)
		if prev < 0 {
			c.keys = append(c.keys, r.prefix+l.PrevKey)
		}
	case TokenBucket:
		bk, _ := newBucket(l)
		q, rest, sq, sr := bk.costArgs(l.Hits)
		c.args = append(c.args, 2, l.Hits, now.UnixMicro(), bk.rate, q, rest, sq, sr)
	}
}

// verdict is limit l's verdict from the script's over, x, y.
func verdictOf(now time.Time, l Limit, x, y int64, charged bool) Verdict {
	switch l.Algorithm {
	case FixedWindow:
		return fixedVerdict(now, l, uint64(x), charged)
	case SlidingWindow:
		return slidingVerdict(now, l, uint64(x), uint64(y), charged)
	}
	bk, _ := newBucket(l)
	return bk.verdict(bk.debt(tat{x, uint64(y)}, now.UnixMicro()), l.Hits, charged)
}

// Check runs one script over every key of the request, so it is one round
// trip and atomic. On a Cluster that needs every key in one slot: keys
// whose hash tags put them there take that path too; any other request is
// checked by checkSplit.
func (r *Redis) Check(ctx context.Context, now time.Time, limits []Limit, out []Verdict) (bool, error) {
	if err := checkLimits(now, limits, out); err != nil || len(limits) == 0 {
		return true, err
	}
	if err := r.version.check(ctx, r.client); err != nil {
		return false, err
	}
	var c checkCall
	c.args = append(make([]any, 0, 1+checkArgs*len(limits)), len(limits))
	for _, l := range limits {
		r.appendLimit(&c, now, l, -1)
	}
	if !r.oneSlot(c.keys) {
		return r.checkSplit(ctx, now, limits, out)
	}
	res, err := checkScript.Run(ctx, r.client, c.keys, c.args...).Int64Slice()
	if err == nil && len(res) != 1+3*len(limits) {
		err = fmt.Errorf("unexpected reply of %d values", len(res))
	}
	if err != nil {
		return false, fmt.Errorf("counter: redis check of %d limits (%s): %w", len(limits), limits[0].Key, err)
	}
	admitted := res[0] == 1
	for i, l := range limits {
		out[i] = verdictOf(now, l, res[2+3*i], res[3+3*i], admitted)
	}
	return admitted, nil
}

// oneSlot says whether one script may take keys: always but on a Cluster,
// where they must share a hash slot.
func (r *Redis) oneSlot(keys []string) bool {
	if _, ok := r.client.(*redis.ClusterClient); !ok {
		return true
	}
	for _, k := range keys[1:] {
		if hashSlot(k) != hashSlot(keys[0]) {
			return false
		}
	}
	return true
}
