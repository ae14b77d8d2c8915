// Package testserver starts real Redis and memcached servers on loopback for
// tests. The binaries must be on PATH; ./test.sh installs them.
package testserver

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Server is one running server process.
type Server struct {
	Addr string // 127.0.0.1:port
	Port int

	t     testing.TB
	name  string
	args  []string
	cmd   *exec.Cmd
	ready func(addr string) error // nil: plain-text ping
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
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
	port := FreePort(t)
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir()}, extra...)
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, t: t,
		name: need(t, "redis-server"), args: args}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Memcached starts memcached.
func Memcached(t testing.TB) *Server {
	t.Helper()
	port := FreePort(t)
	args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "16"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root")
	}
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, t: t,
		name: need(t, "memcached"), args: args}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start (re)starts the process on the same port and waits until it accepts
// connections.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Server) start() error {
	if s.cmd != nil {
		return nil
	}
	cmd := exec.Command(s.name, s.args...)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.name, err)
	}
	s.cmd = cmd
	ready := s.ready
	if ready == nil {
		ready = ping
	}
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err = ready(s.Addr); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("%s on %s did not come up: %w", s.name, s.Addr, err)
}

// Stop kills the process; Start brings it back on the same port.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// ping checks that the server answers a line to a memcached "version"; Redis
// answers it with an error line, which is enough to know it is serving.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		return err
	}
	_, err = bufio.NewReader(c).ReadString('\n')
	return err
}
