package counter

import "context"

var (
	_ Pinger = (*Redis)(nil)
	_ Pinger = (*Memcached)(nil)
)

// Ping asks Redis for PONG, and the first time for its version: a Redis
// too old keeps a breaker open, its health naming the minimum.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.version.check(ctx, r.client); err != nil {
		return err
	}
	return r.client.Ping(ctx).Err()
}

// Ping asks every memcached server for its version; gomemcache's Ping takes
// no context, so ctx only stops the wait for it.
func (m *Memcached) Ping(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- m.client.Ping() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
