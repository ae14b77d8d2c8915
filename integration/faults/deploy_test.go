package faults

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/delayproxy"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/floodgate/floodgate/policy"
)

// The policy every case runs: wide is what the load drives through its
// limit across the fault, small is used up at once, so that a replica
// that limits it again is enforcing limits. Day windows: no case crosses
// one unless it starts in the last seconds of a day (waitForWindow).
const (
	domain       = "faults"
	wideLimit    = 2000
	smallLimit   = 20
	replicaCount = 2
	// overdraftRatio is ε, the replicas' default --overdraft-ratio.
	overdraftRatio = 0.005
	counterPrefix  = "fg:"
	policyYAML     = "domain: faults\ndescriptors:\n" +
		"  - key: wide\n    rate_limit: {unit: day, requests_per_unit: 2000}\n" +
		"  - key: small\n    rate_limit: {unit: day, requests_per_unit: 20}\n"
	// lateRule is the rule the control-plane case adds while the control
	// plane is down.
	lateRule = "  - key: late\n    rate_limit: {unit: day, requests_per_unit: 3}\n"
)

// leaseBound is the lease issue's bound on what a window admits of a
// limit l over the replicas: L + N·d with d = ⌊ε·L/N⌋, at most (1+ε)·L.
func leaseBound(l int) int { return l + replicaCount*int(overdraftRatio*float64(l)/replicaCount) }

// options shape a deployment: Redis, engines and replicas, each a process.
type options struct {
	engines, replicas int // 2 when zero
	// xds feeds engines and replicas from a control plane rather than
	// from the policy file.
	xds bool
	// sentinel puts the engines' counters on a Redis master with a
	// replica, watched by a Sentinel; the decision bus stays on its own
	// Redis.
	sentinel bool
	// ns runs replica 0 inside this network namespace; Redis and the
	// engines then listen where it reaches them.
	ns *netNS
	// proxyEngines has replica 0 reach the engines through delay proxies
	// (deployment.proxies), one an engine.
	proxyEngines bool
	// replicaArgs are added to every replica's arguments.
	replicaArgs []string
}

// deployment is a running set of processes and what reads their state.
type deployment struct {
	t        *testing.T
	confDir  string
	redis    *testserver.Server // the decision bus, and the counters unless sentinel
	counter  *testserver.Server // the counters' master when sentinel
	standby  *testserver.Server // its replica, promoted by the failover
	engines  []*role
	replicas []*role
	cp       *role
	proxies  []*delayproxy.Proxy   // replica 0's way to the engines, with proxyEngines
	counts   redis.UniversalClient // reads the counters
}

func deploy(t *testing.T, o options) *deployment {
	t.Helper()
	if o.engines == 0 {
		o.engines = 2
	}
	if o.replicas == 0 {
		o.replicas = replicaCount
	}
	d := &deployment{t: t, confDir: t.TempDir()}
	d.writePolicy(policyYAML)
	engineIP, redisIP := "127.0.0.1", "127.0.0.1"
	redisArgs := []string{}
	if o.ns != nil {
		engineIP, redisIP = o.ns.hostIP, o.ns.redisIP
		// Reached from the namespace, over the test's own veth pair only.
		redisArgs = []string{"--bind", "127.0.0.1", redisIP, "--protected-mode", "no"}
	}
	d.redis = testserver.Redis(t, redisArgs...)
	busURL := func(ip string) string { return fmt.Sprintf("redis://%s:%d/0", ip, d.redis.Port) }
	counterArgs := []string{}
	if o.sentinel {
		d.counter = testserver.Redis(t)
		d.standby = testserver.Redis(t, "--replicaof", "127.0.0.1", fmt.Sprint(d.counter.Port))
		s := testserver.RedisSentinel(t, d.counter,
			"--sentinel", "down-after-milliseconds", testserver.SentinelMaster, "300",
			"--sentinel", "failover-timeout", testserver.SentinelMaster, "3000")
		url := "redis+sentinel://" + s.Addr + "/" + testserver.SentinelMaster
		counterArgs = []string{"--counter-redis", url}
		d.counts = redis.NewFailoverClient(&redis.FailoverOptions{MasterName: testserver.SentinelMaster,
			SentinelAddrs: []string{s.Addr}})
		d.waitReplicated()
	} else {
		d.counts = redis.NewClient(&redis.Options{Addr: d.redis.Addr})
	}
	t.Cleanup(func() { d.counts.Close() })

	policyArgs := func(node string) []string { return []string{"--config", d.confDir} }
	if o.xds {
		store := "file:" + filepath.Join(t.TempDir(), "policies.json")
		d.cp = newRole(t, "control plane", "", "127.0.0.1", "control-plane", "--config", d.confDir,
			"--store", store, "--admin-token", "faults")
		d.cp.start(t)
		policyArgs = func(node string) []string {
			return []string{"--xds", d.cp.grpc, "--node-id", node, "--xds-wait", "5s"}
		}
	}
	var engineAddrs []string
	for i := range o.engines {
		args := append([]string{"engine", "--redis", busURL("127.0.0.1"), "--counter-prefix", counterPrefix},
			counterArgs...)
		e := newRole(t, fmt.Sprintf("engine %d", i), "", engineIP, append(args, policyArgs(fmt.Sprint("engine-", i))...)...)
		e.start(t)
		d.engines = append(d.engines, e)
		engineAddrs = append(engineAddrs, e.grpc)
	}
	if o.proxyEngines {
		for _, a := range engineAddrs {
			d.proxies = append(d.proxies, newDelayProxy(t, a))
		}
	}
	for i := range o.replicas {
		ns, ip, bus, engines := "", "127.0.0.1", busURL("127.0.0.1"), engineAddrs
		if i == 0 && o.ns != nil {
			ns, ip, bus = o.ns.name, o.ns.nsIP, busURL(redisIP)
		}
		if i == 0 && o.proxyEngines {
			engines = nil
			for _, p := range d.proxies {
				engines = append(engines, p.Addr)
			}
		}
		args := append([]string{"rls", "--engine", strings.Join(engines, ","), "--redis", bus,
			"--max-replicas", fmt.Sprint(replicaCount)}, o.replicaArgs...)
		r := newRole(t, fmt.Sprintf("replica %d", i), ns, ip, append(args, policyArgs(fmt.Sprint("rls-", i))...)...)
		r.start(t)
		d.replicas = append(d.replicas, r)
	}
	testkit.Eventually(t, "every engine and replica healthy", d.healthy)
	return d
}

// writePolicy replaces the policy file the engines, replicas or control
// plane read.
func (d *deployment) writePolicy(doc string) {
	if err := os.WriteFile(filepath.Join(d.confDir, "faults.yaml"), []byte(doc), 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// healthy reports whether every running engine and replica says so.
func (d *deployment) healthy() bool {
	for _, r := range append(append([]*role{}, d.engines...), d.replicas...) {
		if !r.healthy() {
			return false
		}
	}
	return true
}

// waitReplicated waits until the counters' standby follows its master, so
// that a failover has somewhere to go.
func (d *deployment) waitReplicated() {
	c := redis.NewClient(&redis.Options{Addr: d.standby.Addr})
	defer c.Close()
	testkit.Eventually(d.t, "the standby Redis in sync with its master", func() bool {
		info, err := c.Info(d.t.Context(), "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
}

// granted is the window's count of key=value in the counter store.
func (d *deployment) granted(key, value string) int {
	d.t.Helper()
	n, err := d.count(key, value)
	if err != nil {
		d.t.Fatal(err)
	}
	return n
}

// count is the window's count of key=value in the counter store, 0 when
// there is none.
func (d *deployment) count(key, value string) (int, error) {
	entries := []*commonrl.RateLimitDescriptor_Entry{{Key: key, Value: value}}
	k := counterPrefix + string(policy.AppendCacheKey(nil, "", domain, entries, nil, policy.Day.WindowStart(time.Now().Unix())))
	n, err := d.counts.Get(d.t.Context(), k).Int()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("granted count %s: %w", k, err)
	}
	return n, nil
}

// settledGranted reads the count of key=value once it has held still for
// 300ms: the leases' asks, overdrafts and returns are in.
func (d *deployment) settledGranted(key, value string) int {
	g := d.granted(key, value)
	for range 20 {
		time.Sleep(300 * time.Millisecond)
		next := d.granted(key, value)
		if next == g {
			break
		}
		g = next
	}
	return g
}

// replicaAddrs are the replicas' gRPC addresses.
func (d *deployment) replicaAddrs(which ...int) []string {
	if len(which) == 0 {
		for i := range d.replicas {
			which = append(which, i)
		}
	}
	var out []string
	for _, i := range which {
		out = append(out, d.replicas[i].grpc)
	}
	return out
}

// waitForWindow waits out the last seconds of a day, so that a case's
// counts stay in one window.
func waitForWindow() {
	now := time.Now().UTC()
	if end := now.Truncate(24 * time.Hour).Add(24 * time.Hour); end.Sub(now) < 30*time.Second {
		time.Sleep(end.Sub(now) + 100*time.Millisecond)
	}
}

// newDelayProxy forwards to target until t ends, without delay until Set.
func newDelayProxy(t *testing.T, target string) *delayproxy.Proxy {
	t.Helper()
	p, err := delayproxy.New(target, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}
