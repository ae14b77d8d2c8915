package decisions

import (
	"context"
	"log/slog"
	"time"

	stats "github.com/lyft/gostats"
)

// A Publisher broadcasts decisions to every subscribed replica.
type Publisher interface {
	// Publish delivers ds; an error means some subscribers may not have
	// them (the engine publishes again on its next flush).
	Publish(ctx context.Context, ds []Decision) error
}

// A Subscriber delivers decisions to one replica.
type Subscriber interface {
	// Subscribe calls apply with every decision still in force, then with
	// every decision published, until ctx is done; it reconnects by itself
	// and catches up again after each reconnect, so apply may see a decision
	// twice. apply is called from one goroutine at a time. Subscribe returns
	// when ctx is done.
	Subscribe(ctx context.Context, apply func(Decision)) error
	// Connected reports whether a subscription is live right now.
	Connected() bool
}

// subScope is s's scope name, or a scope that discards when s is nil.
func subScope(s stats.Scope, name string) stats.Scope {
	if s == nil {
		return stats.NewStore(stats.NewNullSink(), false).Scope(name)
	}
	return s.Scope(name)
}

func loggerOr(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

func nowOr(f func() time.Time) func() time.Time {
	if f == nil {
		return time.Now
	}
	return f
}
