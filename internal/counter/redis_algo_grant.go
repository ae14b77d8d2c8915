package counter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// slidingGrantScript is applySlidingGrant in Redis. KEYS[1] is the window's
// granted count, KEYS[2] the previous window's when ARGV[9] is -1; ARGV:
// limit, weight, want, charge, return, divisor, floor, ttl (ms), previous
// count or -1, status (GrantStatus by the caller's clock: other than 0
// changes nothing), cold credit, '1' when a datacenter's holding caps the
// window's count (Grant.CapKey), then fairArgs. A datacenter in ARGV[13]
// shares the window by demand (fair_grant.go), its demand and got records
// the last two keys; the holding is the key before them, or the last. It
// returns {status, tokens, total, previous count[, cap]}, cap -1 without a
// holding.
var slidingGrantScript = redis.NewScript(fairLua + `
local function count(v)
	if not v then return 0 end
	if not string.match(v, '^%d+$') then error('value is not a granted count') end
	return math.min(tonumber(v), 9007199254740992)
end
local v = redis.call('GET', KEYS[1])
local total = count(v)
local prev = tonumber(ARGV[9])
if prev < 0 then prev = count(redis.call('GET', KEYS[2])) end
local status = tonumber(ARGV[10])
if status ~= 0 then return {status, 0, total, prev} end
local fair = ARGV[13] ~= ''
local nk = #KEYS
if fair then nk = nk - 2 end
local cap = -1
if ARGV[12] == '1' then
	local h = redis.call('HMGET', KEYS[nk], 'held', 'extra')
	if h[1] or h[2] then
		cap = (tonumber(h[1]) or 0) + (tonumber(h[2]) or 0)
	else
		cap = tonumber(ARGV[11])
	end
end
local before = total
if not v then total = tonumber(ARGV[7]) end
total = total + tonumber(ARGV[4])
total = total - math.min(tonumber(ARGV[5]), total)
local part = math.ceil(math.min(prev, 68719476736) * tonumber(ARGV[2]) / 65536)
local remaining = math.max(0, tonumber(ARGV[1]) - part - total)
if cap >= 0 then remaining = math.min(remaining, math.max(0, cap - total)) end
local tokens
if fair then
	local expire = function(k) redis.call('PEXPIRE', k, ARGV[8]) end
	tokens = fairtake(KEYS[#KEYS - 1], KEYS[#KEYS], ARGV[13], ARGV[14], tonumber(ARGV[15]), tonumber(ARGV[16]), tonumber(ARGV[18]),
		tonumber(ARGV[17]), tonumber(ARGV[3]), remaining, total, tonumber(ARGV[6]), tonumber(ARGV[4]), tonumber(ARGV[5]), expire)
else
	tokens = math.min(tonumber(ARGV[3]), math.ceil(remaining / math.max(tonumber(ARGV[6]), 1)))
end
total = total + tokens
if total ~= before then
	redis.call('SET', KEYS[1], string.format('%d', total), 'PX', ARGV[8])
end
return {0, tokens, total, prev, cap}
`)

// bucketGrantScript is bucket.grant in Redis, on a TAT kept as checkScript
// keeps it. KEYS[1] is the TAT; ARGV: now (µs), rate, period (µs), a, b
// (period = a × rate + b), burst, want, charge, return, divisor. It returns
// {tokens, tokens in use}. The cost of n tokens is computed exactly: n × b
// in 16-bit halves of n, so that no product passes 2^53.
var bucketGrantScript = redis.NewScript(`
local now, rate, period = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local a, b, burst = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local function divmod(x)
	local q = math.floor(x / rate)
	if q * rate > x then q = q - 1 end
	local r = x - q * rate
	if r >= rate then q, r = q + 1, r - rate end
	return q, r
end
local function cost(n)
	local nh = math.floor(n / 65536)
	local x1, x2 = divmod(nh * b)
	local y1, y2 = divmod(x2 * 65536 + (n - nh * 65536) * b)
	return n * a + x1 * 65536 + y1, y2
end
local function add(u, r, cu, cr)
	u, r = u + cu, r + cr
	if r >= rate then u, r = u + 1, r - rate end
	return u, r
end
local function le(u1, r1, u2, r2) return u1 < u2 or (u1 == u2 and r1 <= r2) end
local function inuse(du, dr)
	if du == 0 and dr == 0 then return 0 end
	local k = math.max(1, math.ceil((du * rate + dr) / period))
	while k > 1 do
		local cu, cr = cost(k - 1)
		if not le(du, dr, cu, cr) then break end
		k = k - 1
	end
	while true do
		local cu, cr = cost(k)
		if le(du, dr, cu, cr) then return k end
		k = k + 1
	end
end
local v = redis.call('GET', KEYS[1])
local du, dr = 0, 0
if v then
	local us, r = string.match(v, '^(%d+):(%d+)$')
	if not us then error('value is not a token bucket') end
	us, r = tonumber(us), math.min(tonumber(r), rate - 1)
	if us >= now then du, dr = us - now, r end
end
local bu, br = du, dr
local charge, ret = tonumber(ARGV[8]), tonumber(ARGV[9])
if charge > 0 then du, dr = add(du, dr, cost(charge)) end
if ret > 0 then
	local cu, cr = cost(ret)
	if le(du, dr, cu, cr) then
		du, dr = 0, 0
	else
		du, dr = du - cu, dr - cr
		if dr < 0 then du, dr = du - 1, dr + rate end
	end
end
local used = inuse(du, dr)
local avail = math.max(0, burst - used)
local tokens = math.min(tonumber(ARGV[7]), math.ceil(avail / math.max(tonumber(ARGV[10]), 1)))
if tokens > 0 then
	du, dr = add(du, dr, cost(tokens))
	used = used + tokens
end
if du ~= bu or dr ~= br then
	if du == 0 and dr == 0 then
		redis.call('DEL', KEYS[1])
	else
		redis.call('SET', KEYS[1], string.format('%d:%d', now + du, dr), 'PX', math.floor(du / 1000) + 2)
	end
end
return {tokens, used}
`)

// runEach sends one call of script per keys[i], args[i] in one pipeline,
// and again as EVAL those a node without the script refused (NOSCRIPT runs
// nothing). It returns the pipeline's error left, nil when every call ran.
func (r *Redis) runEach(ctx context.Context, script *redis.Script, keys [][]string, args [][]any) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(keys))
	pipe := r.client.Pipeline()
	for i := range keys {
		cmds[i] = script.EvalSha(ctx, pipe, keys[i], args[i]...)
	}
	_, err := pipe.Exec(ctx)
	if err == nil {
		return cmds, nil
	}
	pipe = r.client.Pipeline()
	again := false
	for i, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			cmds[i] = script.Eval(ctx, pipe, keys[i], args[i]...)
			again = true
		}
	}
	if !again {
		return cmds, err
	}
	pipe.Exec(ctx) // each command's error is read below
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			return cmds, err
		}
	}
	return cmds, nil
}

// keyResults turns a pipeline's per-call errors into Grant's errors: one
// plain error when nothing got through, else KeyErrors.
func keyResults(op string, n int, err error, cmds []*redis.Cmd, keyOf func(int) string, parse func(int, *redis.Cmd) error) error {
	errs := make([]error, n)
	replied, failed := false, 0
	for i, cmd := range cmds {
		cerr := cmd.Err()
		if cerr == nil {
			cerr = parse(i, cmd)
		}
		if cerr != nil {
			errs[i] = fmt.Errorf("counter %q: redis %s: %w", keyOf(i), op, cerr)
			failed++
			replied = replied || isReply(cerr) || cmd.Err() == nil
		}
	}
	if err != nil && failed == n && !replied {
		return fmt.Errorf("counter: redis %s of %d counters: %w", op, n, err)
	}
	return keyErrors(errs)
}

// GrantSliding sends one script per grant, in one pipeline. Each call takes
// both windows' keys; on a Cluster, where they lie in two slots (unless hash
// tags put them in one), the previous windows' counts are read first, in
// one more round trip: those windows have ended and no grant changes them.
func (r *Redis) GrantSliding(ctx context.Context, now time.Time, gs []SlidingGrant, out []Granted) error {
	if err := checkSlidingGrants(gs, out); err != nil || len(gs) == 0 {
		return err
	}
	if err := r.version.check(ctx, r.client); err != nil {
		return err
	}
	keys := make([][]string, len(gs))
	args := make([][]any, len(gs))
	weights := make([]uint64, len(gs))
	var split []int
	for i, g := range gs {
		keys[i] = []string{r.prefix + g.Key, r.prefix + g.PrevKey}
		if !r.oneSlot(keys[i]) {
			split = append(split, i)
		}
		capped := "0"
		if g.CapKey != "" {
			capped = "1"
		}
		weights[i] = slidingGrantWeight(g.Grant, now)
		g.Want, g.Charge, g.Return, g.Floor = clampGrant(g.Want), clampGrant(g.Charge), clampGrant(g.Return), clampGrant(g.Floor)
		args[i] = []any{clampGrant(g.Limit), weights[i], g.Want, g.Charge, g.Return, clampGrant(g.Divisor), g.Floor,
			ceilMillis(slidingGrantTTL(g.Grant, now)), -1, int(grantWindow(g.Grant, now)), clampGrant(g.CapCredit), capped}
	}
	if len(split) > 0 {
		pipe := r.client.Pipeline()
		gets := make([]*redis.StringCmd, len(split))
		for j, i := range split {
			gets[j] = pipe.Get(ctx, keys[i][1])
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("counter: redis read of %d previous windows: %w", len(split), err)
		}
		for j, i := range split {
			n, err := gets[j].Int64()
			if err != nil && !errors.Is(err, redis.Nil) {
				return fmt.Errorf("counter %q: redis read of the previous window: %w", gs[i].PrevKey, err)
			}
			keys[i], args[i][8] = keys[i][:1], max(n, 0)
		}
	}
	for i, g := range gs {
		if g.CapKey != "" {
			keys[i] = append(keys[i], r.holdingKey(g.CapKey, g.Key))
		}
		fair := fairOn(g.Grant) && r.oneSlot(append([]string{keys[i][0]}, r.fairKeys(g.Grant)...))
		if fair {
			keys[i] = append(keys[i], r.fairKeys(g.Grant)...)
		}
		args[i] = append(args[i], fairArgs(g.Grant, fair, now.UnixMilli())...)
	}
	cmds, err := r.runEach(ctx, slidingGrantScript, keys, args)
	return keyResults("sliding grant", len(gs), err, cmds, func(i int) string { return gs[i].Key }, func(i int, cmd *redis.Cmd) error {
		v, err := cmd.Int64Slice()
		if err != nil || len(v) != 4 && len(v) != 5 || v[0] < 0 || v[0] > int64(GrantEarly) || v[1] < 0 || v[2] < 0 || v[3] < 0 {
			return fmt.Errorf("unexpected reply %v (%v)", cmd.Val(), err)
		}
		out[i] = Granted{Status: GrantStatus(v[0]), Tokens: uint64(v[1]), Total: uint64(v[2]),
			Used: slidingEstimate(uint64(v[3]), uint64(v[2]), weights[i])}
		if len(v) == 5 && v[4] >= 0 {
			out[i].Capped, out[i].Cap = true, uint64(v[4])
		}
		return nil
	})
}

// GrantBucket sends one script per grant, each on its one key, in one
// pipeline.
func (r *Redis) GrantBucket(ctx context.Context, now time.Time, gs []BucketGrant, out []Granted) error {
	bks, err := checkBucketGrants(gs, out)
	if err != nil || len(gs) == 0 {
		return err
	}
	if err := r.version.check(ctx, r.client); err != nil {
		return err
	}
	keys := make([][]string, len(gs))
	args := make([][]any, len(gs))
	for i, g := range gs {
		bk := bks[i]
		keys[i] = []string{r.prefix + g.Key}
		args[i] = []any{now.UnixMicro(), bk.rate, bk.period, bk.a, bk.b, bk.burst,
			min(g.Want, maxAlgoLimit), min(g.Charge, bk.burst), min(g.Return, maxAlgoLimit), min(g.Divisor, maxAlgoLimit)}
	}
	cmds, err := r.runEach(ctx, bucketGrantScript, keys, args)
	return keyResults("bucket grant", len(gs), err, cmds, func(i int) string { return gs[i].Key }, func(i int, cmd *redis.Cmd) error {
		v, err := cmd.Int64Slice()
		if err != nil || len(v) != 2 || v[0] < 0 || v[1] < 0 {
			return fmt.Errorf("unexpected reply %v (%v)", cmd.Val(), err)
		}
		out[i] = Granted{Tokens: uint64(v[0]), Total: uint64(v[1]), Used: uint64(v[1])}
		return nil
	})
}
