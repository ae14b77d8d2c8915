package redisconn

import (
	"context"
	"net"
	"testing"
	"time"
)

// A Redis that accepts and never answers (frozen, or cut off beyond the
// connection) fails a command when its context ends, not at read_timeout.
func TestCallerDeadlineBoundsAHungRedis(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	c, err := New("redis://" + l.Addr().String() + "?read_timeout=1h")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Ping(ctx).Err() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a Redis that never answers answered")
		}
	case <-time.After(30 * time.Second): // a guard against the hour-long hang, not a timing claim
		t.Fatal("the call outlived its context: it waits for read_timeout (1h)")
	}
}
