package counter

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// MemberReport is what one writer says about itself beside a set of
// members: the engines of the datacenters sharing a global tier publish
// their link to it this way, for a control plane to show the fleet.
type MemberReport struct {
	// Field names the report among the set's (datacenter/engine); a new
	// report replaces the field's last.
	Field string
	Value []byte
	// Keep is how long a report not written again stays: a writer that
	// left disappears after it, one cut off shows its last report until
	// then.
	Keep time.Duration
}

// memberReportsScript writes a report and its time, then drops the
// reports not written within Keep (at most 100 a call, which the next
// calls finish). KEYS: the reports hash, the sorted set of their times.
// ARGV: field, value, now and the oldest time kept in ms, Keep in ms.
const memberReportsScript = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4], 'LIMIT', 0, 100)
if #old > 0 then
	redis.call('HDEL', KEYS[1], unpack(old))
	redis.call('ZREM', KEYS[2], unpack(old))
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return #old
`

// memberReportKeys are the keys of set's reports: hash-tagged with the
// set's own key, so that on a Cluster they share its slot and one
// transaction writes all three.
func memberReportKeys(setKey string) (reports, times string) {
	return "{" + setKey + "}:reports", "{" + setKey + "}:reported"
}

// MembersReporting is Members that also writes member's report rep, in
// the same round trip, and forgets the reports older than rep.Keep.
func (r *Redis) MembersReporting(ctx context.Context, set, member string, now time.Time, ttl time.Duration, rep MemberReport) (int, error) {
	key := r.prefix + set
	reports, times := memberReportKeys(key)
	var card *redis.IntCmd
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		card = queueMembers(ctx, p, key, member, now, ttl)
		p.Eval(ctx, memberReportsScript, []string{reports, times}, rep.Field, rep.Value,
			now.UnixMilli(), now.Add(-rep.Keep).UnixMilli(), max(1, rep.Keep.Milliseconds()))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("counter %q: redis members and report %q: %w", set, rep.Field, err)
	}
	return int(card.Val()), nil
}

// MemberReports returns the reports written beside set and not yet
// forgotten, by field.
func (r *Redis) MemberReports(ctx context.Context, set string) (map[string]string, error) {
	reports, _ := memberReportKeys(r.prefix + set)
	m, err := r.client.HGetAll(ctx, reports).Result()
	if err != nil {
		return nil, fmt.Errorf("counter %q: redis member reports: %w", set, err)
	}
	return m, nil
}
