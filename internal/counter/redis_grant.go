package counter

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ Granter = (*Redis)(nil)

// grantScript is applyGrant in Redis, atomic per key and timed by Redis's
// clock (TIME, to the microsecond), so engines whose clocks disagree still
// agree on which window is in force. KEYS[1] is the granted count; ARGV:
// limit, window start (Unix seconds), window (ms), want, charge, return,
// divisor, ahead (ms), grace (ms), floor, cold credit, '1' when KEYS[2] is a
// datacenter's holding of a global key (redis_holdings.go), then fairArgs.
// With a holding the limit is at most what it holds, held + extra, or the
// cold credit while it holds nothing of the window yet. A datacenter in
// ARGV[13] shares the window by demand (fair_grant.go) with the last two
// keys its demand and got records. It returns {status, tokens, total,
// others, cap}, status as GrantStatus, others the holding's (0 without one)
// and cap held + extra (-1 without one). A window not in force changes
// nothing; nor does a grant that leaves the count as it was, so it creates
// no key. Amounts are doubles here: the caller keeps them within
// maxGrantCount.
var grantScript = redis.NewScript(fairLua + `
local max = 9007199254740992
local v = redis.call('GET', KEYS[1])
local total = 0
if v then
	if not string.match(v, '^%d+$') then
		return redis.error_reply('ERR value is not a granted count')
	end
	total = math.min(tonumber(v), max)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local start = tonumber(ARGV[2]) * 1000
local ends = start + tonumber(ARGV[3])
if ends * 1000 <= now then
	return {1, 0, total}
end
if start * 1000 > now + tonumber(ARGV[8]) * 1000 then
	return {2, 0, total}
end
local before = total
if not v then
	total = math.min(tonumber(ARGV[10]), max)
end
total = math.min(total + tonumber(ARGV[5]), max)
total = total - math.min(tonumber(ARGV[6]), total)
local limit = tonumber(ARGV[1])
local others = 0
local cap = -1
if ARGV[12] == '1' then
	local h = redis.call('HMGET', KEYS[2], 'held', 'extra', 'others')
	if h[1] or h[2] then
		cap = (tonumber(h[1]) or 0) + (tonumber(h[2]) or 0)
	else
		cap = tonumber(ARGV[11])
	end
	limit = math.min(limit, cap)
	others = tonumber(h[3]) or 0
end
local remaining = math.max(0, limit - total)
local tokens
if ARGV[13] ~= '' then
	local expire = function(k) redis.call('PEXPIREAT', k, ends + tonumber(ARGV[9])) end
	tokens = fairtake(KEYS[#KEYS - 1], KEYS[#KEYS], ARGV[13], ARGV[14], tonumber(ARGV[15]), tonumber(ARGV[16]), tonumber(ARGV[18]),
		math.floor(now / 1000), tonumber(ARGV[4]), remaining, total, tonumber(ARGV[7]), tonumber(ARGV[5]), tonumber(ARGV[6]), expire)
else
	tokens = math.min(tonumber(ARGV[4]), math.ceil(remaining / math.max(tonumber(ARGV[7]), 1)))
end
total = total + tokens
if total ~= before then
	redis.call('SET', KEYS[1], total)
	redis.call('PEXPIREAT', KEYS[1], ends + tonumber(ARGV[9]))
end
return {0, tokens, total, others, cap}
`)

// Grant sends one pipeline of one EVALSHA per grant, each on one key, so a
// Cluster splits it by node as it does Add's. Redis that lost its script
// cache (a restart, SCRIPT FLUSH) answers NOSCRIPT without running anything:
// those grants are sent again as EVAL, which caches the script anew. Each key
// succeeds or fails on its own (KeyErrors), as in Add.
func (r *Redis) Grant(ctx context.Context, gs []Grant, out []Granted) error {
	if err := checkGrant(gs, out); err != nil || len(gs) == 0 {
		return err
	}
	if err := r.version.check(ctx, r.client); err != nil {
		return err
	}
	keys := make([][]string, len(gs))
	args := make([][]any, len(gs))
	cmds := make([]*redis.Cmd, len(gs))
	pipe := r.client.Pipeline()
	for i, g := range gs {
		keys[i] = []string{r.prefix + g.Key}
		if g.CapKey != "" {
			keys[i] = append(keys[i], r.holdingKey(g.CapKey, g.Key))
		}
		args[i] = grantArgs(g)
		fair := fairOn(g) && r.oneSlot(append([]string{keys[i][0]}, r.fairKeys(g)...))
		if fair {
			keys[i] = append(keys[i], r.fairKeys(g)...)
		}
		args[i] = append(args[i], fairArgs(g, fair, 0)...)
		cmds[i] = grantScript.EvalSha(ctx, pipe, keys[i], args[i]...)
	}
	_, err := pipe.Exec(ctx)
	if err != nil {
		err = r.evalUnloadedKeys(ctx, grantScript, keys, args, cmds, err)
	}
	if err == nil {
		for i, cmd := range cmds {
			if out[i], err = parseGranted(cmd.Val()); err != nil {
				return fmt.Errorf("counter %q: redis grant: %w", gs[i].Key, err)
			}
		}
		return nil
	}
	errs := make([]error, len(gs))
	replied, failed := false, 0
	for i, cmd := range cmds {
		cerr := cmd.Err()
		if cerr == nil {
			out[i], cerr = parseGranted(cmd.Val())
		}
		if cerr != nil {
			errs[i] = fmt.Errorf("counter %q: redis grant: %w", gs[i].Key, cerr)
			failed++
			replied = replied || isReply(cerr)
		}
	}
	if failed == len(gs) && !replied {
		// Nothing got through (the connection, a timeout, a refused login):
		// one error says it.
		return fmt.Errorf("counter: redis grant of %d counters: %w", len(gs), err)
	}
	return keyErrors(errs)
}

// evalUnloaded sends again as EVAL the calls of script Redis refused as
// NOSCRIPT and returns the error left, nil when every call has run.
func (r *Redis) evalUnloaded(ctx context.Context, script *redis.Script, keys []string, args [][]any, cmds []*redis.Cmd, err error) error {
	each := make([][]string, len(keys))
	for i := range keys {
		each[i] = keys[i : i+1]
	}
	return r.evalUnloadedKeys(ctx, script, each, args, cmds, err)
}

// evalUnloadedKeys is evalUnloaded for calls of several keys each.
func (r *Redis) evalUnloadedKeys(ctx context.Context, script *redis.Script, keys [][]string, args [][]any, cmds []*redis.Cmd, err error) error {
	var pipe redis.Pipeliner
	for i, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			if pipe == nil {
				pipe = r.client.Pipeline()
			}
			cmds[i] = script.Eval(ctx, pipe, keys[i], args[i]...)
		}
	}
	if pipe == nil {
		return err
	}
	pipe.Exec(ctx) // each command's error is read below
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			return err
		}
	}
	return nil
}

func grantArgs(g Grant) []any {
	capped := "0"
	if g.CapKey != "" {
		capped = "1"
	}
	return []any{clampGrant(g.Limit), g.WindowStart, grantMillis(g.Window),
		clampGrant(g.Want), clampGrant(g.Charge), clampGrant(g.Return), clampGrant(g.Divisor),
		grantMillis(g.Ahead), grantMillis(grantGrace), clampGrant(g.Floor), clampGrant(g.CapCredit), capped}
}

// grantMillis is d in whole milliseconds, rounded up; 0 when negative, and
// no wrap for the longest durations.
func grantMillis(d time.Duration) int64 {
	return ceilMillis(min(max(d, 0), math.MaxInt64-time.Millisecond))
}

// parseGranted reads the script's {status, tokens, total[, others, cap]}.
func parseGranted(v any) (Granted, error) {
	a, ok := v.([]any)
	if !ok || len(a) != 3 && len(a) != 5 {
		return Granted{}, fmt.Errorf("unexpected reply %v", v)
	}
	status, ok1 := a[0].(int64)
	tokens, ok2 := a[1].(int64)
	total, ok3 := a[2].(int64)
	if !ok1 || !ok2 || !ok3 || status < 0 || status > int64(GrantEarly) || tokens < 0 || total < 0 {
		return Granted{}, fmt.Errorf("unexpected reply %v", v)
	}
	g := Granted{Status: GrantStatus(status), Tokens: uint64(tokens), Total: uint64(total)}
	if len(a) == 5 {
		others, ok1 := a[3].(int64)
		capped, ok2 := a[4].(int64)
		if !ok1 || !ok2 || others < 0 {
			return Granted{}, fmt.Errorf("unexpected reply %v", v)
		}
		g.Others = uint64(others)
		if capped >= 0 {
			g.Capped, g.Cap = true, uint64(capped)
		}
	}
	return g, nil
}
