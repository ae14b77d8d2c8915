package counter

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

var _ Holdings = (*Redis)(nil)

// holdScript is one Hold call, atomic with the grants it caps. KEYS[1] is
// the holding (a hash: held, extra, others, fb), KEYS[2] the datacenter's
// granted count; ARGV: op, tokens, charged, global total (-1: others kept),
// clear extra (0/1), share (unclaim: what goes back to extra), expire at
// (ms). It returns {held, extra, others, used, fallback, returned (hand-back
// or claim), of it from extra (claim)}.
var holdScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'held', 'extra', 'others', 'fb')
local held = tonumber(h[1]) or 0
local extra = tonumber(h[2]) or 0
local others = tonumber(h[3]) or 0
local fb = h[4] and 1 or 0
local used = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local op = ARGV[1]
local back = 0
local fromextra = 0
local changed = false
if op == 'settle' then
	local charged = tonumber(ARGV[3])
	held = held + tonumber(ARGV[2]) + charged
	extra = extra - math.min(extra, charged)
	if ARGV[5] == '1' then
		extra = 0
		fb = 0
		redis.call('HDEL', KEYS[1], 'fb')
	end
	if tonumber(ARGV[4]) >= 0 then
		others = math.max(0, tonumber(ARGV[4]) - held)
	end
	changed = true
elseif op == 'fallback' then
	if fb == 0 then
		extra = extra + tonumber(ARGV[6])
		fb = 1
		redis.call('HSET', KEYS[1], 'fb', 1)
		changed = true
	end
elseif op == 'claim' then
	if used > held then
		back = used - held
		fromextra = math.min(extra, back)
		held = used
		extra = extra - fromextra
		changed = true
	end
elseif op == 'unclaim' then
	held = held - math.min(held, tonumber(ARGV[3]))
	extra = extra + tonumber(ARGV[6])
	changed = true
elseif op == 'handback' then
	if fb == 0 and held > used then
		back = held - used
		held = used
		changed = true
	end
end
if changed then
	redis.call('HSET', KEYS[1], 'held', held, 'extra', extra, 'others', others)
	redis.call('PEXPIREAT', KEYS[1], tonumber(ARGV[7]))
end
return {held, extra, others, used, fb, back, fromextra}
`)

var holdOpNames = [...]string{"read", "settle", "fallback", "handback", "claim", "unclaim"}

// Hold runs one pipeline of one script call per holding.
func (r *Redis) Hold(ctx context.Context, hs []Holding, out []HoldingState) error {
	if len(out) != len(hs) {
		return fmt.Errorf("counter: %d holdings but %d results", len(hs), len(out))
	}
	if len(hs) == 0 {
		return nil
	}
	keys := make([][]string, len(hs))
	args := make([][]any, len(hs))
	cmds := make([]*redis.Cmd, len(hs))
	pipe := r.client.Pipeline()
	for i, h := range hs {
		if int(h.Op) >= len(holdOpNames) {
			return fmt.Errorf("counter %q: unknown holding op %d", h.Key, h.Op)
		}
		keys[i] = []string{r.holdingKey(h.Key, h.CountKey), r.prefix + h.CountKey}
		total := int64(-1)
		if h.Op == HoldSettle && h.GlobalTotal > 0 {
			total = int64(clampGrant(h.GlobalTotal))
		}
		clear := 0
		if h.ClearExtra {
			clear = 1
		}
		args[i] = []any{holdOpNames[h.Op], clampGrant(h.Tokens), clampGrant(h.Charged), total, clear,
			clampGrant(h.Share), (h.WindowEnd*1000 + grantMillis(grantGrace))}
		cmds[i] = holdScript.EvalSha(ctx, pipe, keys[i], args[i]...)
	}
	_, err := pipe.Exec(ctx)
	if err != nil {
		err = r.evalUnloadedKeys(ctx, holdScript, keys, args, cmds, err)
	}
	errs := make([]error, len(hs))
	failed := 0
	for i, cmd := range cmds {
		cerr := cmd.Err()
		if cerr == nil {
			out[i], cerr = parseHolding(cmd.Val())
		}
		if cerr != nil {
			errs[i] = fmt.Errorf("counter %q: redis holding: %w", hs[i].Key, cerr)
			failed++
		}
	}
	if failed == 0 {
		return nil
	}
	if failed == len(hs) && err != nil && !isReply(err) {
		return fmt.Errorf("counter: redis holdings of %d keys: %w", len(hs), err)
	}
	return keyErrors(errs)
}

func parseHolding(v any) (HoldingState, error) {
	a, ok := v.([]any)
	if !ok || len(a) != 7 {
		return HoldingState{}, fmt.Errorf("unexpected reply %v", v)
	}
	var n [7]uint64
	for i, x := range a {
		k, ok := x.(int64)
		if !ok || k < 0 {
			return HoldingState{}, fmt.Errorf("unexpected reply %v", v)
		}
		n[i] = uint64(k)
	}
	return HoldingState{Held: n[0], Extra: n[1], Others: n[2], Used: n[3], Fallback: n[4] == 1, Returned: n[5], FromExtra: n[6]}, nil
}

// holdingKey is where the holding named name, of the count count, lives: a
// holding named for its count (HoldingKey) is tagged with the count as
// prefixed here, so that the two keep one Cluster slot whatever the prefix.
func (r *Redis) holdingKey(name, count string) string {
	if r.prefix != "" && name == HoldingKey(count) {
		return HoldingKey(r.prefix + count)
	}
	return r.prefix + name
}
