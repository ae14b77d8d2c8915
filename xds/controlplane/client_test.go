package controlplane

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	rlsconf "github.com/envoyproxy/go-control-plane/ratelimit/config/ratelimit/v3"
	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/xds"
	"github.com/floodgate/floodgate/xds/client"
	"github.com/floodgate/floodgate/xds/policypb"
)

// watcher is a client and what it applied.
type watcher struct {
	*client.Client
	last    atomic.Pointer[policy.Snapshot]
	applies atomic.Int32
	stats   stats.Store
}

func startClient(t *testing.T, opts client.Options) *watcher {
	t.Helper()
	w := &watcher{stats: stats.NewStore(stats.NewNullSink(), false)}
	opts.Apply = func(s *policy.Snapshot) { w.last.Store(s); w.applies.Add(1) }
	opts.Stats = w.stats
	opts.Logger = testkit.Quiet
	if opts.NodeID == "" {
		opts.NodeID = "rls-test"
	}
	c, err := client.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	w.Client = c
	c.Start(context.Background())
	t.Cleanup(func() { c.Close() })
	return w
}

func (w *watcher) domains() string { return strings.Join(domains(w.last.Load()), ",") }

func put(t *testing.T, cp *controlPlane, domain, yaml string, header ...string) {
	t.Helper()
	code, body, _ := do(t, nil, "PUT", cp.httpURL+"/v1/policies/"+domain, "t", yaml, header...)
	if code/100 != 2 {
		t.Fatalf("PUT %s: %d %s", domain, code, body)
	}
}

func TestClientAppliesAndRejects(t *testing.T) {
	for _, typeURL := range []string{xds.PolicyType, xds.RateLimitConfigType} {
		t.Run(typeURL[strings.LastIndex(typeURL, ".")+1:], func(t *testing.T) {
			cp := startControlPlane(t, ServerOptions{AdminToken: "t", Logger: testkit.Quiet})
			put(t, cp, "api", apiPolicy)
			w := startClient(t, client.Options{Addrs: []string{cp.grpcAddr}, TypeURL: typeURL})
			testkit.Receive(t, "the first version applied", w.Ready())
			if w.domains() != "api" || w.Version() != cp.Version() {
				t.Fatalf("applied %q at %q, want api at %q", w.domains(), w.Version(), cp.Version())
			}
			good := w.Version()

			// A bad version pushed straight into the cache is NACKed with
			// the reason; the client keeps the last good one.
			var bad types.Resource = &policypb.Policy{Domain: "api", Yaml: "domain: api\ndescriptors:\n  - key: k\n    rate_limit: {unit: fortnight}\n"}
			if typeURL == xds.RateLimitConfigType {
				bad = &rlsconf.RateLimitConfig{Name: "api", Domain: "api", Descriptors: []*rlsconf.RateLimitDescriptor{
					{Key: "k", RateLimit: &rlsconf.RateLimitPolicy{RequestsPerUnit: 1}},
				}}
			}
			snap, err := NewSnapshot("bad-1", map[string][]types.Resource{typeURL: {bad}})
			if err != nil {
				t.Fatal(err)
			}
			if err := cp.Cache().SetSnapshot(context.Background(), AllNodes, snap); err != nil {
				t.Fatal(err)
			}
			testkit.Eventually(t, "the NACK on the status page", func() bool {
				n, _ := cp.Acks().Node("rls-test")
				ts := n.Types[typeURL]
				return ts != nil && ts.Nacked && ts.LastErrorVersion == "bad-1" && strings.Contains(ts.LastError, "unit")
			})
			if w.Version() != good || w.domains() != "api" || w.applies.Load() != 1 {
				t.Fatalf("after the NACK: version %q, domains %q, %d applies", w.Version(), w.domains(), w.applies.Load())
			}
			if n := w.stats.NewCounter("xds.client.update.rejected").Value(); n != 1 {
				t.Errorf("update.rejected = %d", n)
			}

			put(t, cp, "web", webPolicy)
			testkit.Eventually(t, "the next good version", func() bool { return w.domains() == "api,web" })
			if w.Version() != cp.Version() {
				t.Errorf("client at %q, server at %q", w.Version(), cp.Version())
			}
		})
	}
}

// The client uses the next address when one fails, and keeps its policies
// while none answers.
func TestClientFailover(t *testing.T) {
	store := NewMemoryStore()
	cp1 := startControlPlane(t, ServerOptions{AdminToken: "t", Store: store, Logger: testkit.Quiet})
	put(t, cp1, "api", apiPolicy)
	cp2 := startControlPlane(t, ServerOptions{AdminToken: "t", Store: store, Logger: testkit.Quiet})

	// A port nobody listens on comes first.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	w := startClient(t, client.Options{Addrs: []string{dead, cp1.grpcAddr, cp2.grpcAddr}})
	testkit.Receive(t, "the first version applied", w.Ready())
	testkit.Eventually(t, "the client on cp1", func() bool { n, ok := cp1.Acks().Node("rls-test"); return ok && n.Streams == 1 })

	cp1.stop()
	if w.domains() != "api" {
		t.Fatalf("lost its policies: %q", w.domains())
	}
	put(t, cp2, "web", webPolicy)
	testkit.Eventually(t, "the change through cp2", func() bool { return w.domains() == "api,web" })
	if n := w.stats.NewCounter("xds.client.connect.failed").Value(); n < 2 {
		t.Errorf("connect.failed = %d, want the dead address and cp1", n)
	}
}
