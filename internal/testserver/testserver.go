// Package testserver starts real Redis and memcached servers on loopback for
// tests. The binaries must be on PATH; ./test.sh installs them.
package testserver

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/childproc"
)

// Server is one running server process.
type Server struct {
	Addr string // 127.0.0.1:port
	Port int

	t testing.TB
	p *childproc.Process
}

// newServer is a server of bin on port, not started; ready nil checks it
// with a plain-text ping.
func newServer(t testing.TB, port int, bin string, args []string, ready func(addr string) error) *Server {
	if ready == nil {
		ready = ping
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	return &Server{Addr: addr, Port: port, t: t,
		p: &childproc.Process{Addr: addr, Bin: bin, Args: args, Ready: ready}}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := childproc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func need(t testing.TB, bin string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("%s not found on PATH: run ./test.sh, which installs it", bin)
	}
	return p
}

// Redis starts redis-server with no persistence. extra adds config arguments
// ("--requirepass", "secret").
func Redis(t testing.TB, extra ...string) *Server {
	t.Helper()
	return redisWith(t, func() []string { return extra })
}

// redisWith is Redis with config arguments made afresh for each attempt
// (RedisCluster's bus port is one more free port).
func redisWith(t testing.TB, extra func() []string) *Server {
	t.Helper()
	dir := t.TempDir()
	return startOnFreePort(t, func(port int) *Server {
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir}, extra()...)
		return newServer(t, port, need(t, "redis-server"), args, nil)
	})
}

// Memcached starts memcached.
func Memcached(t testing.TB) *Server {
	t.Helper()
	return startOnFreePort(t, func(port int) *Server {
		return newServer(t, port, need(t, "memcached"), memcachedArgs(port), nil)
	})
}

// memcachedArgs run memcached on port of 127.0.0.1 alone, TCP only, small.
func memcachedArgs(port int, extra ...string) []string {
	args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "16"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root")
	}
	return append(args, extra...)
}

// startOnFreePort starts the server build makes on a free port, and on
// another when a process took the port between FreePort and the bind: the
// tests of other packages run at the same time. It stops when t ends.
func startOnFreePort(t testing.TB, build func(port int) *Server) *Server {
	t.Helper()
	for attempt := 1; ; attempt++ {
		s := build(FreePort(t))
		err := s.p.Start(context.Background())
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		if attempt == 5 || !strings.Contains(err.Error(), "already in use") {
			t.Fatal(err)
		}
	}
}

// Start (re)starts the process on the same port and waits until it accepts
// connections.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.p.Start(context.Background()); err != nil {
		s.t.Fatal(err)
	}
}

// Stop kills the process; Start brings it back on the same port.
func (s *Server) Stop() { s.p.Stop() }

// ping checks that the server answers a line to a memcached "version"; Redis
// answers it with an error line, which is enough to know it is serving.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	return answersVersion(c)
}

// answersVersion sends "version" on c, waits for a line back, and closes c.
func answersVersion(c net.Conn) error {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		return err
	}
	_, err := bufio.NewReader(c).ReadString('\n')
	return err
}
