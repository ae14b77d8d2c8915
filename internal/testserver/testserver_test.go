package testserver

import (
	"crypto/x509"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func cli(t *testing.T, port int, args ...string) string {
	t.Helper()
	out, err := exec.Command("redis-cli", append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(port)}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestRedisStopStart(t *testing.T) {
	s := Redis(t)
	s.Stop()
	if ping(s.Addr) == nil {
		t.Fatal("redis still answers after Stop")
	}
	s.Start()
	if got := cli(t, s.Port, "ping"); got != "PONG" {
		t.Fatalf("ping after Start = %q", got)
	}
}

func TestRedisSentinel(t *testing.T) {
	master := Redis(t)
	s := RedisSentinel(t, master)
	got := cli(t, s.Port, "sentinel", "get-master-addr-by-name", SentinelMaster)
	if want := "127.0.0.1\n" + strconv.Itoa(master.Port); got != want {
		t.Fatalf("sentinel master = %q, want %q", got, want)
	}
}

func TestRedisCluster(t *testing.T) {
	nodes := RedisCluster(t, 3)
	for _, n := range nodes {
		if info := cli(t, n.Port, "cluster", "info"); !strings.Contains(info, "cluster_slots_assigned:16384") {
			t.Fatalf("node %s: slots not all assigned:\n%s", n.Addr, info)
		}
	}
}

func TestRedisTLS(t *testing.T) {
	s, caPEM := RedisTLS(t)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("caPEM holds no certificate")
	}
	if err := tlsPing(s.Addr, roots); err != nil {
		t.Fatalf("tls ping: %v", err)
	}
	if err := tlsPing(s.Addr, x509.NewCertPool()); err == nil {
		t.Fatal("tls ping trusted a server signed by an unknown CA")
	}
}

// A port another process takes between FreePort and the bind costs one
// more attempt on a fresh port, not the test.
func TestStartOnFreePortMovesOffATakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	attempts := 0
	s := startOnFreePort(t, func(port int) *Server {
		if attempts++; attempts == 1 {
			port = taken
		}
		return newServer(t, port, need(t, "redis-server"), []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", t.TempDir()}, nil)
	})
	if attempts != 2 || s.Port == taken {
		t.Fatalf("%d attempts, on port %d (taken: %d): want a second attempt on another port", attempts, s.Port, taken)
	}
}
