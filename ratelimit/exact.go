package ratelimit

import (
	"context"
	"errors"
	"time"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/nullstats"
)

// ExactLimiter counts every hit synchronously in a shared counter store:
// one round trip per request, the answers of envoyproxy/ratelimit. While
// the store is down (its counter.Breaker open) it answers by OnStoreDown
// at once instead.
type ExactLimiter struct {
	store counter.Store
	o     ExactOptions
	st    storeDownStats
}

// ExactOptions configure an ExactLimiter. The zero value works.
type ExactOptions struct {
	// OnStoreDown is the answer while the store is down; allow when zero.
	OnStoreDown StoreDown
	// Local counts while the store is down with StoreDownLocal (an
	// in-process counter.Memory, which the caller closes); required then.
	Local counter.Store
	// Replicas is how many exact-mode replicas share the store: with
	// StoreDownLocal each admits limit / Replicas (at least 1) per window.
	// 1 when zero.
	Replicas int
	// Stats is the root scope: the outcomes go under exact.store_down.
	Stats gostats.Scope
	// StopIncrementOverLimit counts, when a request would pass the limit of
	// any of its descriptors, only those descriptors' hits (envoyproxy/
	// ratelimit's STOP_CACHE_KEY_INCREMENT_WHEN_OVERLIMIT); it costs a read
	// round trip per request.
	StopIncrementOverLimit bool
}

func (o ExactOptions) withDefaults() ExactOptions {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	o.Stats = nullstats.Or(o.Stats)
	return o
}

// storeDownStats count the descriptors answered while the store was down,
// by how: exact.store_down.allowed, denied, local.
type storeDownStats struct {
	allowed, denied, local gostats.Counter
}

// NewExactLimiter counts in store and admits while it is down.
func NewExactLimiter(store counter.Store) *ExactLimiter {
	return NewExactLimiterWith(store, ExactOptions{})
}

// NewExactLimiterWith counts in store and answers by o while it is down.
func NewExactLimiterWith(store counter.Store, o ExactOptions) *ExactLimiter {
	o = o.withDefaults()
	sc := o.Stats.Scope("exact").Scope("store_down")
	return &ExactLimiter{store: store, o: o, st: storeDownStats{
		allowed: sc.NewCounter("allowed"), denied: sc.NewCounter("denied"), local: sc.NewCounter("local")}}
}

// Limit adds each item's hits to its window's counter; items that decide
// by themselves (DecidesItself) are checked instead, and charged only
// when admitted.
func (l *ExactLimiter) Limit(ctx context.Context, items []*Item) error {
	fixed, checked := splitDecided(items)
	err := l.checkItems(ctx, l.store, 1, checked)
	if err == nil {
		err = l.count(ctx, fixed)
	}
	if errors.Is(err, counter.ErrStoreDown) {
		return l.storeDown(ctx, fixed, checked)
	}
	return err
}

// count adds the hits of fixed windows, as envoyproxy/ratelimit: always.
func (l *ExactLimiter) count(ctx context.Context, items []*Item) error {
	if len(items) == 0 {
		return nil
	}
	incs := increments(items)
	counts := make([]uint64, len(items))
	var err error
	if l.o.StopIncrementOverLimit {
		err = l.stopIncrementsOverLimit(ctx, items, incs)
	}
	if err == nil {
		err = l.store.Add(ctx, incs, counts)
	}
	if err != nil {
		return err
	}
	for i, it := range items {
		it.Count = counts[i]
	}
	return nil
}

func increments(items []*Item) []counter.Increment {
	incs := make([]counter.Increment, len(items))
	for i, it := range items {
		incs[i] = counter.Increment{
			Key:    it.Key,
			Hits:   it.Hits,
			Expiry: time.Duration(it.WindowSeconds()) * time.Second,
		}
	}
	return incs
}

// splitDecided parts items into fixed windows counted by Add and the
// items that decide by themselves, keeping their order.
func splitDecided(items []*Item) (fixed, checked []*Item) {
	for _, it := range items {
		if it.DecidesItself() {
			checked = append(checked, it)
		} else {
			fixed = append(fixed, it)
		}
	}
	return fixed, checked
}

// storeDown answers items by OnStoreDown. Each fixed window's count is set
// to what makes the service answer as the policy says: within the limit,
// over it, or within or over the replica's share with limit_remaining
// what is left of the share; the other items get that verdict.
func (l *ExactLimiter) storeDown(ctx context.Context, fixed, checked []*Item) error {
	switch l.o.OnStoreDown {
	case StoreDownDeny:
		for _, it := range fixed {
			it.Count = uint64(it.RequestsPerUnit) + max(it.Hits, 1)
		}
		decideDown(checked, true)
		l.st.denied.Add(uint64(len(fixed) + len(checked)))
	case StoreDownLocal:
		if l.o.Local == nil {
			return errors.New("exact mode: OnStoreDown local without ExactOptions.Local to count in")
		}
		counts := make([]uint64, len(fixed))
		if err := l.o.Local.Add(ctx, increments(fixed), counts); err != nil {
			return err
		}
		for i, it := range fixed {
			it.Count = shareCount(uint64(it.RequestsPerUnit), uint64(l.o.Replicas), counts[i])
		}
		if err := l.checkItems(ctx, l.o.Local, uint64(l.o.Replicas), checked); err != nil {
			return err
		}
		l.st.local.Add(uint64(len(fixed) + len(checked)))
	default:
		for _, it := range fixed {
			it.Count = min(it.Hits, uint64(it.RequestsPerUnit))
		}
		decideDown(checked, false)
		l.st.allowed.Add(uint64(len(fixed) + len(checked)))
	}
	return nil
}

// shareCount maps a replica's own count of a key onto the key's limit, so
// that the count passes the limit exactly when it passes the replica's
// share, limit / replicas (at least 1: a limit smaller than the replicas
// still admits), and what remains under the limit is what remains of the
// share.
func shareCount(limit, replicas, local uint64) uint64 {
	if limit == 0 {
		return local // a limit of 0 is over whatever the count
	}
	share := shareOf(limit, replicas)
	if local <= share {
		return limit - (share - local)
	}
	return limit + (local - share)
}

// HealthCheck is the limiter's health: failing, naming the counter store
// and since when, while its breaker is open.
func (l *ExactLimiter) HealthCheck() Health {
	dr, ok := l.store.(counter.DownReporter)
	return func() (bool, map[string]any) {
		if !ok {
			return true, nil
		}
		if err := dr.Down(); err != nil {
			return false, map[string]any{"counter_store": err.Error(), "on_store_down": l.o.OnStoreDown.String()}
		}
		return true, nil
	}
}

var _ Limiter = (*ExactLimiter)(nil)
