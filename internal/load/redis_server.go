package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// RedisServer is a redis-server child process on a loopback port, without
// persistence, so that a restart brings it back empty.
type RedisServer struct {
	Addr string // 127.0.0.1:port
	bin  string
	args []string
	cmd  *exec.Cmd
	exit chan struct{} // closed once cmd has exited
	out  bytes.Buffer  // the process's output, for an error that names why it died
}

// redisReadyTimeout bounds how long a starting redis-server may take to
// answer.
const redisReadyTimeout = 10 * time.Second

// StartRedisServer runs redis-server, found in PATH, on a free loopback
// port and waits until it answers.
func StartRedisServer(ctx context.Context) (*RedisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server not found in PATH: the redis-restart fault runs a Redis of its own")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("redis-server: free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &RedisServer{Addr: l.Addr().String(), bin: bin,
		args: []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}}
	if err := s.start(ctx); err != nil {
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
	s.Stop()
	select {
	case <-ctx.Done():
		return time.Since(begin), ctx.Err()
	case <-time.After(down):
	}
	err := s.start(ctx)
	return time.Since(begin), err
}

// Stop kills the server; stopping a stopped server does nothing.
func (s *RedisServer) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exit
	s.cmd = nil
}

func (s *RedisServer) start(ctx context.Context) error {
	s.out.Reset()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = &s.out, &s.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redis-server: %w", err)
	}
	s.cmd, s.exit = cmd, make(chan struct{})
	go func(exit chan struct{}) { _ = cmd.Wait(); close(exit) }(s.exit)
	deadline := time.Now().Add(redisReadyTimeout)
	for {
		err := pingRedis(s.Addr)
		if err == nil {
			return nil
		}
		select {
		case <-s.exit:
			s.cmd = nil
			return fmt.Errorf("redis-server on %s exited: %s", s.Addr, strings.TrimSpace(s.out.String()))
		case <-ctx.Done():
			s.Stop()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("redis-server on %s did not answer within %v: %w", s.Addr, redisReadyTimeout, err)
		}
	}
}

// pingRedis checks that addr answers PING.
func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}
