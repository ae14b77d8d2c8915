package counter

import (
	"context"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// WarmGrants readies the store for its first grants: the grant scripts
// loaded and connections dialed, each at once. A store across a WAN (the
// global tier) would otherwise make a key's first grant pay a round trip
// per step (dial, handshake, NOSCRIPT, EVAL): a second or more at 80 ms,
// while the datacenter denies the key.
func (r *Redis) WarmGrants(ctx context.Context) error {
	scripts := []*redis.Script{grantScript, slidingGrantScript}
	errs := make([]error, len(scripts)+1)
	var wg sync.WaitGroup
	for i, s := range scripts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Load(ctx, r.client).Err()
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[len(scripts)] = r.client.Ping(ctx).Err()
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("redis: warming the grants: %w", err)
		}
	}
	return nil
}
