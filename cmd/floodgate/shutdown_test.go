package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/redis/go-redis/v9"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// stopGuard only keeps a stop that hangs from hanging the test; the stop's
// speed is measured, not asserted.
const stopGuard = 30 * time.Second

// terminate stops r with SIGTERM and fails unless it exits with 0.
func terminate(t *testing.T, name string, r *roleProcess) {
	t.Helper()
	code, err := r.Terminate(stopGuard)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("%s exited %d after SIGTERM: %s", name, code, r.Output())
	}
}

// healthWatch opens a health Watch on addr, a stream no role ends by
// itself; ended reports whether the server told it to end.
func healthWatch(t *testing.T, addr string) (ended func() error) {
	t.Helper()
	w, err := healthpb.NewHealthClient(rlsConn(t, addr)).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() {
		for {
			if _, err := w.Recv(); err != nil {
				errs <- err
				return
			}
		}
	}()
	return func() error {
		err := testkit.Receive(t, "the health Watch to end", errs)
		if !strings.Contains(status.Convert(err).Message(), "server stopping") {
			return err
		}
		return nil
	}
}

// rlsLoad sends ShouldRateLimit to addr from a few callers until the
// first error or stop; answered counts the OK answers.
type rlsLoad struct {
	answered atomic.Uint64
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startLoad(t *testing.T, addr string) *rlsLoad {
	l := &rlsLoad{stop: make(chan struct{})}
	rls := rlsv3.NewRateLimitServiceClient(rlsConn(t, addr))
	for w := range 4 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			req := &rlsv3.RateLimitRequest{Domain: "d", HitsAddend: 1, Descriptors: []*ratelimitv3.RateLimitDescriptor{{
				Entries: []*ratelimitv3.RateLimitDescriptor_Entry{{Key: "k", Value: strconv.Itoa(w)}}}}}
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := rls.ShouldRateLimit(context.Background(), req)
				if err != nil {
					return // the process has stopped
				}
				if resp.GetOverallCode() == rlsv3.RateLimitResponse_OK {
					l.answered.Add(1)
				}
			}
		}()
	}
	t.Cleanup(l.end)
	testkit.Eventually(t, "requests answered under load", func() bool { return l.answered.Load() >= 300 })
	return l
}

// end stops the callers and waits for them.
func (l *rlsLoad) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// counted sums the counters under prefix in Redis.
func counted(t *testing.T, addr, prefix string) uint64 {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	keys, err := rc.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, k := range keys {
		v, err := rc.Get(context.Background(), k).Uint64()
		if err != nil {
			t.Fatalf("counter %s: %v", k, err)
		}
		n += v
	}
	return n
}

// shutdownPolicies is a policy directory with a limit no test reaches.
func shutdownPolicies(t *testing.T) string {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "d.yaml"), []byte("domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: hour, requests_per_unit: 100000000}\n"), 0o644)
	return dir
}

// On SIGTERM under traffic a replica, then its engine, exit 0, end the
// streams they still had open, and every hit answered OK is in Redis.
func TestReplicaThenEngineStopOnSIGTERM(t *testing.T) {
	redisSrv := testserver.Redis(t)
	url, dir := "redis://"+redisSrv.Addr+"/0", shutdownPolicies(t)
	eng := startRole(t, "engine", "--redis", url, "--config", dir, "--counter-prefix", "sd:")
	rls := startRole(t, "rls", "--engine", eng.grpcAddr, "--redis", url, "--config", dir)
	engWatch, rlsWatch := healthWatch(t, eng.grpcAddr), healthWatch(t, rls.grpcAddr)
	load := startLoad(t, rls.grpcAddr)

	terminate(t, "rls", rls)
	load.end()
	if err := rlsWatch(); err != nil {
		t.Errorf("the replica's Watch ended with %v; want it told the server is stopping", err)
	}
	terminate(t, "engine", eng)
	if err := engWatch(); err != nil {
		t.Errorf("the engine's Watch ended with %v; want it told the server is stopping", err)
	}
	if got, n := load.answered.Load(), counted(t, redisSrv.Addr, "sd:"); n < got {
		t.Fatalf("%d hits answered OK, %d counted: %d lost on stop", got, n, got-n)
	}
	for name, out := range map[string]string{"rls": rls.Output(), "engine": eng.Output()} {
		if !strings.Contains(out, "stopping:") {
			t.Errorf("%s logged nothing of what it flushed on stop:\n%s", name, out)
		}
		checkStopLine(t, name, out)
	}
}

// checkStopLine: a role's last words say it stopped and how long it took.
func checkStopLine(t *testing.T, role, out string) {
	t.Helper()
	if !strings.Contains(out, `level=INFO msg="floodgate stopped" role=`+role+" took=") {
		t.Errorf("%s logged no stop line:\n%s", role, out)
	}
}

// An engine stopped under traffic exits 0, ends its streams, and has put
// in Redis every hit the replica answered before the signal.
func TestEngineStopsUnderTrafficOnSIGTERM(t *testing.T) {
	redisSrv := testserver.Redis(t)
	url, dir := "redis://"+redisSrv.Addr+"/0", shutdownPolicies(t)
	eng := startRole(t, "engine", "--redis", url, "--config", dir, "--counter-prefix", "sd:")
	rls := startRole(t, "rls", "--engine", eng.grpcAddr, "--redis", url, "--config", dir, "--on-engine-down", "deny")
	engWatch := healthWatch(t, eng.grpcAddr)
	load := startLoad(t, rls.grpcAddr)

	before := load.answered.Load()
	terminate(t, "engine", eng)
	if err := engWatch(); err != nil {
		t.Errorf("the engine's Watch ended with %v; want it told the server is stopping", err)
	}
	load.end()
	if n := counted(t, redisSrv.Addr, "sd:"); n < before {
		t.Fatalf("%d hits answered OK before SIGTERM, %d counted", before, n)
	}
	// The replica's hit streams were still open: the engine ended them
	// itself, so its stop finished inside --shutdown-timeout instead of
	// waiting on them until the deadline cut them.
	out := eng.Output()
	for _, cut := range []string{"were cut", "cut at the deadline"} {
		if strings.Contains(out, cut) {
			t.Errorf("the engine's stop ran to its deadline (%q):\n%s", cut, out)
		}
	}
	checkStopLine(t, "engine", out)
}

// `serve` stopped under traffic exits 0 and has counted every hit it
// answered; `control-plane` exits 0 and ends its streams.
func TestServeAndControlPlaneStopOnSIGTERM(t *testing.T) {
	redisSrv := testserver.Redis(t)
	dir := shutdownPolicies(t)
	srv := startRole(t, "serve", "--redis", "redis://"+redisSrv.Addr+"/0", "--config", dir, "--counter-prefix", "sd:")
	watch := healthWatch(t, srv.grpcAddr)
	load := startLoad(t, srv.grpcAddr)
	terminate(t, "serve", srv)
	load.end()
	if err := watch(); err != nil {
		t.Errorf("serve's Watch ended with %v; want it told the server is stopping", err)
	}
	if got, n := load.answered.Load(), counted(t, redisSrv.Addr, "sd:"); n < got {
		t.Fatalf("%d hits answered OK, %d counted: %d lost on stop", got, n, got-n)
	}

	checkStopLine(t, "serve", srv.Output())

	cp := startRole(t, "control-plane", "--store", "memory:", "--config", dir)
	cpWatch := healthWatch(t, cp.grpcAddr)
	terminate(t, "control-plane", cp)
	if err := cpWatch(); err != nil {
		t.Errorf("the control plane's Watch ended with %v; want it told the server is stopping", err)
	}
	checkStopLine(t, "control-plane", cp.Output())
}
