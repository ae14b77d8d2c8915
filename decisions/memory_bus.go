package decisions

import (
	"context"
	"sync"
	"time"
)

// MemoryBus carries decisions within one process: the all-in-one default.
// It keeps the decisions in force so a late subscriber catches up, as one on
// Redis does. The zero value is ready to use.
type MemoryBus struct {
	// Now is the clock used to drop expired decisions; time.Now when nil.
	Now func() time.Time

	mu      sync.Mutex
	inForce map[string]Decision
	subs    map[*memorySub]struct{}
}

type memorySub struct {
	mu    sync.Mutex // serialises apply, as Subscriber promises
	apply func(Decision)
}

// Publish delivers ds to every subscriber before it returns.
func (b *MemoryBus) Publish(_ context.Context, ds []Decision) error {
	now := b.clock()
	b.mu.Lock()
	if b.inForce == nil {
		b.inForce = make(map[string]Decision)
	}
	for k, d := range b.inForce {
		if d.Expired(now) {
			delete(b.inForce, k)
		}
	}
	for _, d := range ds {
		if d.State == Throttled {
			b.inForce[d.Key] = d
		} else {
			delete(b.inForce, d.Key)
		}
	}
	subs := make([]*memorySub, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()

	for _, s := range subs {
		s.mu.Lock()
		for _, d := range ds {
			s.apply(d)
		}
		s.mu.Unlock()
	}
	return nil
}

// Subscribe delivers the decisions in force, then every published one,
// until ctx is done.
func (b *MemoryBus) Subscribe(ctx context.Context, apply func(Decision)) error {
	s := &memorySub{apply: apply}
	now := b.clock()
	// Register and catch up under one lock: a concurrent Publish is then
	// either in the catch-up or delivered after it.
	s.mu.Lock()
	b.mu.Lock()
	if b.subs == nil {
		b.subs = make(map[*memorySub]struct{})
	}
	b.subs[s] = struct{}{}
	catchUp := make([]Decision, 0, len(b.inForce))
	for _, d := range b.inForce {
		if !d.Expired(now) {
			catchUp = append(catchUp, d)
		}
	}
	b.mu.Unlock()
	for _, d := range catchUp {
		apply(d)
	}
	s.mu.Unlock()

	<-ctx.Done()
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
	return nil
}

// Connected is always true: there is nothing to lose a connection to.
func (b *MemoryBus) Connected() bool { return true }

func (b *MemoryBus) clock() time.Time {
	if b.Now == nil {
		return time.Now()
	}
	return b.Now()
}
