package datacenters

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/childproc"
	"github.com/floodgate/floodgate/internal/delayproxy"
	"github.com/floodgate/floodgate/internal/multidctest"
	"github.com/floodgate/floodgate/internal/netlab"
)

// Inside every namespace the same ports: each has a loopback of its own.
const (
	redisPort = "6379"
	engineOne = "127.0.0.1:8091" // gRPC; HTTP on the next port
	engineTwo = "127.0.0.1:8093"
)

// deployment is the hub namespace's global Redis and three datacenters.
type deployment struct {
	lab *netlab.Lab
	dcs []*datacenter
}

// datacenter is one namespace: its Redis, two engines and two replicas,
// reached from the test by dialing into the namespace.
type datacenter struct {
	name        string
	ns          *netlab.NS
	engineHTTPs []string
	clients     []rlsv3.RateLimitServiceClient
	http        *http.Client
	redis       *redis.Client
}

// startDeployment runs the three datacenters and waits until every engine
// is linked to the global tier and counts all three datacenters.
func startDeployment(t *testing.T) *deployment {
	t.Helper()
	lab := netlab.New(t, multidctest.Datacenters)
	bin := floodgateBin(t)
	dir := t.TempDir()
	policies := filepath.Join(dir, "policies")
	if err := os.MkdirAll(policies, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(policies, "test.yaml"), []byte(multidctest.Policy), 0o644); err != nil {
		t.Fatal(err)
	}
	startRedis(t, lab.Hub, "0.0.0.0", dir)

	globals := wan(t, lab)
	d := &deployment{lab: lab}
	for i, ns := range lab.Sites {
		dc := &datacenter{name: fmt.Sprintf("dc%d", i), ns: ns}
		tr := &http.Transport{DialContext: ns.DialContext}
		t.Cleanup(tr.CloseIdleConnections)
		dc.http = &http.Client{Timeout: time.Second, Transport: tr}
		startRedis(t, ns, "127.0.0.1", dir)
		dc.redis = redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + redisPort, Dialer: ns.DialContext})
		t.Cleanup(func() { dc.redis.Close() })
		local := "redis://127.0.0.1:" + redisPort + "/0?dial_timeout=200ms&read_timeout=1s"
		// Short timeouts, so that an engine finds its link to the global
		// tier cut within a round or two.
		global := "redis://" + globals[i] + "/0?dial_timeout=200ms&read_timeout=500ms"
		for e, addr := range []string{engineOne, engineTwo} {
			httpAddr := nextPort(addr)
			dc.start(t, fmt.Sprintf("engine %d", e), httpAddr, bin, "engine", "--datacenter", dc.name,
				"--id", fmt.Sprintf("%s-engine-%d", dc.name, e), "--grpc-addr", addr, "--http-addr", httpAddr,
				"--redis", local, "--global-redis", global, "--config", policies, "--log-level", "warn")
			dc.engineHTTPs = append(dc.engineHTTPs, httpAddr)
		}
		for r := range multidctest.Replicas {
			addr := fmt.Sprintf("127.0.0.1:%d", 8081+2*r)
			dc.start(t, fmt.Sprintf("replica %d", r), nextPort(addr), bin, "rls", "--datacenter", dc.name,
				"--grpc-addr", addr, "--http-addr", nextPort(addr),
				"--engine", engineOne+","+engineTwo, "--engine-policy", "loadbalance",
				"--max-replicas", fmt.Sprint(multidctest.FleetReplicas), "--redis", local, "--config", policies, "--log-level", "warn")
			conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
					return ns.DialContext(ctx, "tcp", addr)
				}))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			dc.clients = append(dc.clients, rlsv3.NewRateLimitServiceClient(conn))
		}
		d.dcs = append(d.dcs, dc)
	}
	multidctest.AwaitLinked(t, d)
	return d
}

// wan gives each datacenter's address of the global Redis: across its
// link with netem delaying it where the kernel has netem, otherwise
// through a delaying proxy that listens and dials inside the datacenter's
// namespace, so that its traffic still crosses the link a cut takes down.
func wan(t *testing.T, lab *netlab.Lab) []string {
	t.Helper()
	var addrs []string
	ok, why := lab.Netem()
	if ok {
		t.Log("WAN latency by tc netem on each datacenter's link to the hub")
	} else {
		t.Logf("WAN latency by a delaying proxy inside each datacenter's namespace, across its link to the hub: no netem here (%s)", why)
	}
	for i, ns := range lab.Sites {
		global := net.JoinHostPort(ns.HubIP, redisPort)
		if ok {
			lab.Delay(t, i, multidctest.WANDelays[i])
			addrs = append(addrs, global)
			continue
		}
		l, err := ns.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := delayproxy.Serve(l, func() (net.Conn, error) {
			// Bounded: connections wait for a dial in turn, and one over
			// a cut link would otherwise wait out TCP's retries.
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			return ns.DialContext(ctx, "tcp", global)
		}, multidctest.WANDelays[i])
		t.Cleanup(p.Close)
		addrs = append(addrs, p.Addr)
	}
	return addrs
}

// nextPort is addr's port plus one: each role's HTTP listener.
func nextPort(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	var n int
	fmt.Sscan(port, &n)
	return net.JoinHostPort(host, fmt.Sprint(n+1))
}

// start runs a floodgate role inside the datacenter's namespace and waits
// until its /healthcheck answers 200; it is killed when t ends.
func (dc *datacenter) start(t *testing.T, name, httpAddr, bin string, args ...string) {
	t.Helper()
	b, a := dc.ns.Command(bin, args...)
	p := &childproc.Process{Addr: httpAddr, Bin: b, Args: a, Ready: func(addr string) error {
		if code := dc.get("http://"+addr+"/healthcheck", nil); code != http.StatusOK {
			return fmt.Errorf("/healthcheck answered %d", code)
		}
		return nil
	}}
	t.Cleanup(p.Stop)
	if err := p.Start(t.Context()); err != nil {
		t.Fatalf("%s %s: %v", dc.name, name, err)
	}
}

// get GETs url inside the datacenter's namespace, decoding a 200's JSON
// body into v unless it is nil; it returns the status, 0 when nothing
// answered.
func (dc *datacenter) get(url string, v any) int {
	resp, err := dc.http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return 0
		}
	}
	return resp.StatusCode
}

// global is engine e's view of the global tier (GET /v1/global).
func (dc *datacenter) global(t testing.TB, e int) decisions.GlobalStatus {
	t.Helper()
	var s decisions.GlobalStatus
	if code := dc.get("http://"+dc.engineHTTPs[e]+"/v1/global", &s); code != http.StatusOK {
		t.Fatalf("%s engine %d: GET /v1/global answered %d", dc.name, e, code)
	}
	return s
}

// startRedis runs a Redis without persistence inside ns on bind:6379 and
// waits until it answers a PING there.
func startRedis(t *testing.T, ns *netlab.NS, bind, dir string) {
	t.Helper()
	// Outside loopback Redis refuses clients without a password unless
	// protected mode is off; it listens only inside the namespace.
	b, a := ns.Command("redis-server", "--port", redisPort, "--bind", bind, "--protected-mode", "no",
		"--save", "", "--appendonly", "no", "--dir", dir, "--dbfilename", ns.Name+".rdb")
	p := &childproc.Process{Addr: "127.0.0.1:" + redisPort, Bin: b, Args: a, Ready: childproc.RedisReady(ns.DialContext)}
	t.Cleanup(p.Stop)
	if err := p.Start(t.Context()); err != nil {
		t.Fatalf("redis-server in %s: %v", ns.Name, err)
	}
}
