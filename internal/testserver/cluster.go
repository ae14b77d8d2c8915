package testserver

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RedisCluster starts n (at least 3) cluster-enabled redis-servers, assigns
// all slots across them as masters with no replicas, and waits until every
// node reports cluster_state:ok.
func RedisCluster(t testing.TB, n int) []*Server {
	t.Helper()
	if n < 3 {
		t.Fatalf("redis cluster: %d nodes, need at least 3 masters", n)
	}
	nodes := make([]*Server, n)
	args := []string{"--cluster", "create"}
	for i := range nodes {
		// The bus port is chosen explicitly: the default, port+10000, can
		// fall outside the port range for a high ephemeral port.
		nodes[i] = redisWith(t, func() []string {
			return []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-port", strconv.Itoa(FreePort(t)), "--cluster-node-timeout", "5000"}
		})
		args = append(args, nodes[i].Addr)
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, need(t, "redis-cli"), args...).CombinedOutput(); err != nil {
		t.Fatalf("redis cluster create: %v\n%s", err, out)
	}
	for _, node := range nodes {
		waitClusterOK(ctx, t, node)
	}
	return nodes
}

func waitClusterOK(ctx context.Context, t testing.TB, node *Server) {
	t.Helper()
	for {
		out, err := exec.CommandContext(ctx, need(t, "redis-cli"), "-h", "127.0.0.1",
			"-p", strconv.Itoa(node.Port), "cluster", "info").Output()
		if err == nil && strings.Contains(string(out), "cluster_state:ok") {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redis cluster node %s: not cluster_state:ok in time: %s", node.Addr, out)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
