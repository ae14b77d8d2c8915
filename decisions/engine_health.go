package decisions

import (
	"context"
	"fmt"
	"time"

	"github.com/floodgate/floodgate/internal/counter"
)

// counterPingInterval is how often an engine asks its counter store
// whether it answers.
const counterPingInterval = time.Second

// watchCounter pings a shared counter store until ctx ends and keeps the
// outcome for health: an engine whose store is down grants nothing and
// counts nothing, and its health says so rather than looking idle.
func (e *Engine) watchCounter(ctx context.Context, p counter.Pinger) {
	t := time.NewTicker(counterPingInterval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, e.o.Timeout)
		err := p.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			err = fmt.Errorf("counter store: %w", err)
			e.st.counterDown.Set(1)
		} else {
			e.st.counterDown.Set(0)
		}
		e.counterErr.Store(&err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CounterErr is the counter store's last ping error; nil while it answers,
// and for the in-process store.
func (e *Engine) CounterErr() error {
	if p := e.counterErr.Load(); p != nil {
		return *p
	}
	return nil
}
