package decisions

import (
	"context"
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

// A Bus carries decisions both ways: engines publish on it and replicas
// subscribe to it. A process that runs both roles holds one.
type Bus interface {
	Publisher
	Subscriber
}

var (
	_ Bus = (*MemoryBus)(nil)
	_ Bus = (*RedisBus)(nil)
)
