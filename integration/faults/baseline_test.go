package faults

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/internal/childproc"
	"github.com/floodgate/floodgate/internal/testserver"
)

// The same Redis kill, under the same load, on envoyproxy/ratelimit, for
// the report's side-by-side rows: RATELIMIT_BIN names its service_cmd
// binary (docs/compare-faults.sh installs one); without it the case skips.
// It holds envoyproxy/ratelimit only to recovering once Redis is back.
func TestBaselineWithRedisKilled(t *testing.T) {
	bin := os.Getenv("RATELIMIT_BIN")
	if bin == "" {
		t.Skip("RATELIMIT_BIN unset: no envoyproxy/ratelimit to compare with")
	}
	waitForWindow()
	const name = "envoyproxy/ratelimit: redis-kill"
	rs := testserver.Redis(t)
	root := t.TempDir()
	conf := filepath.Join(root, "ratelimit", "config")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "faults.yaml"), []byte(policyYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	port := func() int { return testserver.FreePort(t) }
	httpPort, grpcPort, debugPort := port(), port(), port()
	grpcAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(grpcPort))
	p := &childproc.Process{Addr: grpcAddr, Bin: "env", Ready: listening, Args: []string{
		"RUNTIME_ROOT=" + root, "RUNTIME_SUBDIRECTORY=ratelimit", "RUNTIME_WATCH_ROOT=false", "USE_STATSD=false",
		"LOG_LEVEL=error", "REDIS_SOCKET_TYPE=tcp", "REDIS_URL=" + rs.Addr,
		"HOST=127.0.0.1", "PORT=" + strconv.Itoa(httpPort), "GRPC_HOST=127.0.0.1", "GRPC_PORT=" + strconv.Itoa(grpcPort),
		"DEBUG_HOST=127.0.0.1", "DEBUG_PORT=" + strconv.Itoa(debugPort), bin}}
	t.Cleanup(p.Stop)
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	value := unique("baseline")
	l := startLoad(t, value, grpcAddr)
	time.Sleep(beforeFor)
	l.enter(during)
	rs.Stop()
	time.Sleep(faultFor)
	l.enter(after)
	healed := time.Now()
	rs.Start()
	var recovery time.Duration
	for {
		if code, err := askOnce(grpcAddr, "small", value); err == nil && code == rlsv3.RateLimitResponse_OVER_LIMIT {
			recovery = time.Since(healed)
			break
		}
		if time.Since(healed) > recoveryGuard {
			t.Fatalf("envoyproxy/ratelimit not recovered %v after Redis came back", recoveryGuard)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(afterFor)
	l.stop()
	t.Logf("%s: sent %d, failed %d, timed out %d; first error %v", name, l.sent.Load(), l.failed.Load(), l.timedOut.Load(), l.firstErr)
	record(row{fault: name, sent: l.sent.Load(), failed: l.failed.Load(), timedOut: l.timedOut.Load(),
		admitted: l.admitted(keyWide), limit: wideLimit, recovery: recovery,
		note: "with Redis away: " + strconv.FormatInt(l.ok(during, keyWide)+l.ok(during, keySmall), 10) + " OK, " +
			strconv.FormatInt(l.over(during, keyWide)+l.over(during, keySmall), 10) + " over; the rest failed or timed out"})
}
