package counter

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Members marks member as alive in the sorted set set, at now, forgets those
// not marked within ttl and returns how many are left (member included):
// the datacenters sharing a global tier count one another this way. One
// round trip.
func (r *Redis) Members(ctx context.Context, set, member string, now time.Time, ttl time.Duration) (int, error) {
	key := r.prefix + set
	var card *redis.IntCmd
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		card = queueMembers(ctx, p, key, member, now, ttl)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("counter %q: redis members: %w", set, err)
	}
	return int(card.Val()), nil
}

// queueMembers queues Members' commands on p; the last one counts them.
func queueMembers(ctx context.Context, p redis.Pipeliner, key, member string, now time.Time, ttl time.Duration) *redis.IntCmd {
	p.ZAdd(ctx, key, redis.Z{Score: float64(now.UnixMilli()), Member: member})
	p.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(now.Add(-ttl).UnixMilli(), 10))
	p.PExpire(ctx, key, 2*ttl)
	return p.ZCard(ctx, key)
}
