package controlplane

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/floodgate/floodgate/xds/client"
)

// statusNodes reads /v1/status as a dashboard does: node ID to its entry.
func statusNodes(t *testing.T, cp *controlPlane) map[string]NodeStatus {
	t.Helper()
	code, body, _ := do(t, nil, http.MethodGet, cp.httpURL+"/v1/status", "", "")
	if code != http.StatusOK {
		t.Fatalf("status: %d %s", code, body)
	}
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("status: %v: %s", err, body)
	}
	if st.NodesError != "" {
		t.Fatalf("status: nodes_error %s", st.NodesError)
	}
	out := map[string]NodeStatus{}
	for _, n := range st.Nodes {
		out[n.ID] = n
	}
	return out
}

// Two control planes on one Redis store each show the other's nodes, and a
// node that leaves, or whose control plane stops, expires from both.
func TestFleetSharedThroughRedis(t *testing.T) {
	srv := testserver.Redis(t)
	start := func(name string) *controlPlane {
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
		t.Cleanup(func() { rdb.Close() })
		return startControlPlane(t, ServerOptions{AdminToken: "t", Logger: testkit.Quiet, Name: name,
			Store:      NewRedisStore(rdb, RedisStoreOptions{PollInterval: 20 * time.Millisecond, Logger: testkit.Quiet}),
			NodeExpiry: time.Second, NodeReportInterval: 20 * time.Millisecond})
	}
	cp1, cp2 := start("cp1"), start("cp2")
	put(t, cp1, "api", apiPolicy)
	a := startClient(t, client.Options{Addrs: []string{cp1.grpcAddr}, NodeID: "a"})
	startClient(t, client.Options{Addrs: []string{cp2.grpcAddr}, NodeID: "b"})

	for _, cp := range []*controlPlane{cp1, cp2} {
		testkit.Eventually(t, "both nodes on "+cp.opts.Name, func() bool {
			ns := statusNodes(t, cp)
			return ns["a"].ControlPlane == "cp1" && ns["a"].Streams == 1 && ns["a"].Types != nil &&
				ns["b"].ControlPlane == "cp2" && ns["b"].Streams == 1
		})
	}
	acked := statusNodes(t, cp2)["a"].Types
	if len(acked) == 0 {
		t.Fatalf("cp2 shows node a without its types")
	}

	a.Close()
	for _, cp := range []*controlPlane{cp1, cp2} {
		testkit.Eventually(t, "node a gone from "+cp.opts.Name, func() bool {
			_, ok := statusNodes(t, cp)["a"]
			return !ok
		})
	}
	if _, ok := statusNodes(t, cp1)["b"]; !ok {
		t.Fatalf("node b, still connected, expired with a")
	}

	cp2.stop()
	testkit.Eventually(t, "node b gone with its control plane", func() bool {
		_, ok := statusNodes(t, cp1)["b"]
		return !ok
	})
}
