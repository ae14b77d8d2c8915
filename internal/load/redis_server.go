package load

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"time"

	"github.com/floodgate/floodgate/internal/childproc"
)

// RedisServer is a redis-server child process on a loopback port, without
// persistence, so that a restart brings it back empty.
type RedisServer struct {
	Addr string // 127.0.0.1:port
	p    *childproc.Process
}

// StartRedisServer runs redis-server, found in PATH, on a free loopback
// port and waits until it answers.
func StartRedisServer(ctx context.Context) (*RedisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server not found in PATH: the redis-restart fault runs a Redis of its own")
	}
	port, err := childproc.FreePort()
	if err != nil {
		return nil, fmt.Errorf("redis-server: %w", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &RedisServer{Addr: addr, p: &childproc.Process{Addr: addr, Bin: bin, Ready: childproc.RedisReady(nil),
		Args: []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}}}
	if err := s.p.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// URL names the server as Floodgate's Redis URL, with short timeouts so
// that calls to it fail fast while it is down.
func (s *RedisServer) URL() string {
	return "redis://" + s.Addr + "/0?dial_timeout=200ms&read_timeout=1s"
}

// Restart kills the server, waits down, starts it again empty on the same
// port and returns how long it did not answer.
func (s *RedisServer) Restart(ctx context.Context, down time.Duration) (time.Duration, error) {
	begin := time.Now()
	s.p.Stop()
	select {
	case <-ctx.Done():
		return time.Since(begin), ctx.Err()
	case <-time.After(down):
	}
	err := s.p.Start(ctx)
	return time.Since(begin), err
}

// Stop kills the server; stopping a stopped server does nothing.
func (s *RedisServer) Stop() { s.p.Stop() }
