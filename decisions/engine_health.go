package decisions

import (
	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/counter"
)

// guardCounter puts a shared counter store behind its circuit breaker (the
// one the caller gave, or a new one): once the store stops answering,
// flushes and grants fail at once instead of each waiting out the
// timeout, replicas get UNAVAILABLE grants and fall back at once, and
// health names the store until a ping finds it back. Its gauge is
// engine.counter_down.
func (e *Engine) guardCounter(sc stats.Scope) {
	e.breaker, e.stopBreaker = counter.Guard(e.o.Counter, counter.BreakerOptions{
		Name: e.o.CounterName, Timeout: e.o.Timeout, Stats: sc, Logger: e.log})
	if e.breaker != nil {
		e.store, e.granter = e.breaker, e.breaker.Granter()
	}
}

// CounterErr says why the counter store is down (a *counter.DownError
// naming it and since when); nil while it answers, and for the
// in-process store.
func (e *Engine) CounterErr() error { return e.breaker.Down() }
