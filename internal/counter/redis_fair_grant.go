package counter

import "fmt"

// fairLua is fairTokens and Memory.fairGrant in Redis, for the grant
// scripts: fairtake reports the grant's demand in the record dkey, takes
// the window's tokens by the rule (fair_grant.go) and records the
// datacenter's got in gkey, which expire() then times; the record's
// birth (its last start from quiet) is its field named "". now is Unix ms;
// total and remaining are the window's after the grant's charge and
// return. An entry that does not parse is ignored.
var fairLua = fmt.Sprintf(`
local function fairtake(dkey, gkey, dc, field, demand, fresh, dcs, now, want, remaining, total, div, charge, ret, expire)
	local ttl, gapcap = %d, %d
	local entries = {}
	local before = nil
	local born, latest = now, nil
	local h = redis.call('HGETALL', dkey)
	for i = 1, #h, 2 do
		if h[i] == '' then born = tonumber(h[i + 1]) or now end
		local r, at, gap = string.match(h[i + 1], '^(%%d+):(%%-?%%d+):(%%d+)$')
		if r then
			r, at, gap = tonumber(r), tonumber(at), tonumber(gap)
			if not latest or at > latest then latest = at end
			if h[i] == field then
				before = {at, gap}
			elseif now - at > ttl then
				redis.call('HDEL', dkey, h[i])
			else
				entries[h[i]] = {r, at, gap}
			end
		end
	end
	if not latest or now - latest > 2 * fresh then
		born = now
		redis.call('HSET', dkey, '', now)
	end
	local gap = 0
	if before then
		gap = before[2] - math.floor(before[2] / 4)
		if now >= before[1] then gap = math.min(math.max(now - before[1], gap), gapcap) end
	end
	entries[field] = {demand, now, gap}
	redis.call('HSET', dkey, field, string.format('%%d:%%d:%%d', demand, now, gap))
	redis.call('PEXPIRE', dkey, ttl)
	local maxgap = 0
	for _, e in pairs(entries) do maxgap = math.max(maxgap, e[3]) end
	local horizon = math.max(fresh, 2 * maxgap)
	local all, mine = 0, 0
	local known, nknown = {}, 0
	local prefix = dc .. '\n'
	for f, e in pairs(entries) do
		if e[1] > 0 and now - e[2] <= horizon then
			all = all + e[1]
			local d = string.match(f, '^(.-)\n')
			if not known[d] then known[d], nknown = true, nknown + 1 end
			if string.sub(f, 1, #prefix) == prefix then mine = mine + e[1] end
		end
	end
	if now - born < 2 * fresh and dcs > 1 then
		mine, all = 1, math.max(dcs, nknown)
	end
	local was = tonumber(redis.call('HGET', gkey, dc)) or 0
	local got = math.min(was + charge, %d)
	got = got - math.min(ret, got)
	local capped = math.ceil(remaining / math.max(div, 1))
	local tokens
	if mine == 0 or all <= mine then
		tokens = math.min(want, capped)
	else
		local share = math.ceil((total + remaining) * mine / all)
		local owed = share - math.min(share, got)
		tokens = math.min(want, capped, owed)
	end
	if got + tokens ~= was then
		redis.call('HSET', gkey, dc, string.format('%%d', got + tokens))
		expire(gkey)
	end
	return tokens
end
`, demandTTL.Milliseconds(), demandGapCap.Milliseconds(), int64(maxGrantCount))

// fairArgs are a grant's fairness arguments to the grant scripts: its
// datacenter (empty when the grant is not shared by demand, or its records
// would lie on another node than its count), its demand field, demand,
// freshness (ms), now (Unix ms) and datacenters.
func fairArgs(g Grant, on bool, nowMs int64) []any {
	if !on {
		return []any{"", "", 0, 0, nowMs, 0}
	}
	return []any{g.Datacenter, demandField(g), min(g.Demand, maxDemand), grantMillis(g.DemandFresh), nowMs,
		min(g.Datacenters, maxDemand)}
}

// fairKeys are the demand and got records of g, the store's prefix put
// before them.
func (r *Redis) fairKeys(g Grant) []string {
	return []string{r.prefix + g.DemandKey, r.prefix + gotKey(g.Key)}
}
