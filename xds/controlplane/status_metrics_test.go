package controlplane

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/xds"
	"github.com/floodgate/floodgate/xds/client"
)

// The versions on /v1/status are series: the one served, a node's acked
// one, and a NACK, which shows until the node acks again.
func TestStatusCollector(t *testing.T) {
	cp := startControlPlane(t, ServerOptions{AdminToken: "t", Logger: testkit.Quiet})
	put(t, cp, "api", apiPolicy)
	w := startClient(t, client.Options{Addrs: []string{cp.grpcAddr}, NodeID: "rls-1"})
	testkit.Receive(t, "the first version applied", w.Ready())
	testkit.Eventually(t, "the ACK", func() bool { return typeStatus(cp, "rls-1").AckedVersion == cp.Version() })

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(cp.StatusCollector())
	want := `
# HELP floodgate_xds_node_nacked 1 while a node rejects the last version it answered, by resource type.
# TYPE floodgate_xds_node_nacked gauge
floodgate_xds_node_nacked{node="rls-1",type_url="` + xds.PolicyType + `"} 0
# HELP floodgate_xds_node_version_info The version last sent to a node and the one it acked, by resource type (always 1).
# TYPE floodgate_xds_node_version_info gauge
floodgate_xds_node_version_info{node="rls-1",state="acked",type_url="` + xds.PolicyType + `",version="` + cp.Version() + `"} 1
floodgate_xds_node_version_info{node="rls-1",state="sent",type_url="` + xds.PolicyType + `",version="` + cp.Version() + `"} 1
# HELP floodgate_xds_version_info The snapshot version this control plane serves (always 1).
# TYPE floodgate_xds_version_info gauge
floodgate_xds_version_info{version="` + cp.Version() + `"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"floodgate_xds_node_nacked", "floodgate_xds_node_version_info", "floodgate_xds_version_info"); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}

	d := startDeltaNode(t, cp.grpcAddr, "picky")
	d.nack(d.recv(), "cannot apply")
	testkit.Eventually(t, "the NACK as a series", func() bool {
		return testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP floodgate_xds_node_nacked 1 while a node rejects the last version it answered, by resource type.
# TYPE floodgate_xds_node_nacked gauge
floodgate_xds_node_nacked{node="picky",type_url="`+xds.PolicyType+`"} 1
floodgate_xds_node_nacked{node="rls-1",type_url="`+xds.PolicyType+`"} 0
`), "floodgate_xds_node_nacked") == nil
	})
}
