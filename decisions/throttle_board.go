package decisions

import (
	"context"
	"sort"
	"sync"
	"time"
)

// ThrottleBoard keeps the throttle decisions in force as a replica would
// see them, for people to look at (the dashboard, GET /v1/throttles): it
// follows a Subscriber and answers which keys are throttled now, until
// when and by which engine. The zero value is ready to use.
type ThrottleBoard struct {
	// Now is the clock that drops ended windows; time.Now when nil.
	Now func() time.Time

	mu      sync.Mutex
	inForce map[string]Decision
}

// Follow applies every decision sub delivers until ctx is done.
func (b *ThrottleBoard) Follow(ctx context.Context, sub Subscriber) error {
	return sub.Subscribe(ctx, b.Apply)
}

// Apply records d: a throttle replaces an older decision on its key, a
// release ends it.
func (b *ThrottleBoard) Apply(d Decision) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inForce == nil {
		b.inForce = make(map[string]Decision)
	}
	old, had := b.inForce[d.Key]
	if had && !d.Newer(&old) {
		return
	}
	if d.State == Throttled {
		b.inForce[d.Key] = d
	} else {
		delete(b.inForce, d.Key)
	}
}

// InForce returns the throttles whose window has not ended, soonest to
// end first, and forgets the others.
func (b *ThrottleBoard) InForce() []Decision {
	now := time.Now()
	if b.Now != nil {
		now = b.Now()
	}
	b.mu.Lock()
	out := make([]Decision, 0, len(b.inForce))
	for k, d := range b.inForce {
		if d.Expired(now) {
			delete(b.inForce, k)
			continue
		}
		out = append(out, d)
	}
	b.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].WindowEnd != out[j].WindowEnd {
			return out[i].WindowEnd < out[j].WindowEnd
		}
		return out[i].Key < out[j].Key
	})
	return out
}
