// Package nullstats is the stats scope a component uses when its options
// give none: the zero value of every options type works, and a component
// never checks for a nil scope on its hot path.
package nullstats

import stats "github.com/lyft/gostats"

// Scope returns a scope whose stats are kept in memory and never sent
// anywhere. Each call returns a new one.
func Scope() stats.Scope { return stats.NewStore(stats.NewNullSink(), false) }

// Or returns s, or a new discarding scope when s is nil.
func Or(s stats.Scope) stats.Scope {
	if s == nil {
		return Scope()
	}
	return s
}
