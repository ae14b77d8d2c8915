package controlplane

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	sotw "github.com/envoyproxy/go-control-plane/pkg/client/sotw/v3"
	rlsconf "github.com/envoyproxy/go-control-plane/ratelimit/config/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/xds"
)

const everyUnit = `domain: units
descriptors:
  - {key: s, rate_limit: {unit: second, requests_per_unit: 1}}
  - {key: mi, rate_limit: {unit: minute, requests_per_unit: 2}}
  - {key: h, rate_limit: {unit: hour, requests_per_unit: 3}}
  - {key: d, rate_limit: {unit: day, requests_per_unit: 4}}
  - {key: w, rate_limit: {unit: week, requests_per_unit: 5}}
  - {key: mo, rate_limit: {unit: month, requests_per_unit: 6}}
  - {key: y, rate_limit: {unit: year, requests_per_unit: 7}}
  - {key: u, rate_limit: {unlimited: true}}
`

// A consumer of the standard RateLimitConfig type gets a domain that uses
// every unit, week included. envoyproxy/ratelimit's xDS provider cannot be
// imported without most of its service (settings, stats, logrus), so the
// consumer is go-control-plane's SotW client, the one that provider is
// built on, decoding into the same rls_conf module version.
func TestEveryUnitServedAsStandard(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "units.yaml"), []byte(everyUnit), 0o644); err != nil {
		t.Fatal(err)
	}
	cp := startControlPlane(t, ServerOptions{Paths: []string{dir}, Logger: testkit.Quiet})
	if omitted := cp.Status().StandardOmitted; len(omitted) != 0 {
		t.Fatalf("omitted from RateLimitConfig: %v", omitted)
	}
	conn, err := grpc.NewClient(cp.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := sotw.NewADSClient(ctx, &core.Node{Id: "envoy-ratelimit"}, xds.RateLimitConfigType)
	if err := c.InitConnect(conn); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Fetch()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Resources) != 1 {
		t.Fatalf("%d RateLimitConfig resources, want the one domain", len(resp.Resources))
	}
	var rc rlsconf.RateLimitConfig
	if err := resp.Resources[0].UnmarshalTo(&rc); err != nil {
		t.Fatal(err)
	}
	want := map[string]rlsconf.RateLimitUnit{
		"s": rlsconf.RateLimitUnit_SECOND, "mi": rlsconf.RateLimitUnit_MINUTE, "h": rlsconf.RateLimitUnit_HOUR,
		"d": rlsconf.RateLimitUnit_DAY, "w": rlsconf.RateLimitUnit_WEEK, "mo": rlsconf.RateLimitUnit_MONTH,
		"y": rlsconf.RateLimitUnit_YEAR, "u": rlsconf.RateLimitUnit_UNKNOWN,
	}
	if rc.GetDomain() != "units" || len(rc.GetDescriptors()) != len(want) {
		t.Fatalf("resource: %v", &rc)
	}
	for i, d := range rc.GetDescriptors() {
		rl := d.GetRateLimit()
		if rl.GetUnit() != want[d.GetKey()] || (d.GetKey() == "u") != rl.GetUnlimited() {
			t.Errorf("descriptor %s: unit %v unlimited %v, want %v", d.GetKey(), rl.GetUnit(), rl.GetUnlimited(), want[d.GetKey()])
		}
		if d.GetKey() != "u" && rl.GetRequestsPerUnit() != uint32(i+1) {
			t.Errorf("descriptor %s: requests_per_unit %d, want %d", d.GetKey(), rl.GetRequestsPerUnit(), i+1)
		}
	}
	if err := c.Ack(); err != nil {
		t.Fatal(err)
	}
}
