// Package envoy holds Envoy bootstrap configs that wire Envoy's ratelimit
// filters to Floodgate; this test keeps them valid.
package envoy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	rlqsfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rate_limit_quota/v3"
	ratelimitfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ratelimit/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	netratelimit "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/ratelimit/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"gopkg.in/yaml.v3"

	"github.com/floodgate/floodgate/examples"
	"github.com/floodgate/floodgate/policy"
)

func TestConfigsAreValidBootstraps(t *testing.T) {
	files, _ := filepath.Glob("*.yaml")
	if len(files) < 3 {
		t.Fatalf("want the front-proxy, mTLS front-proxy and sidecar configs, found %v", files)
	}
	known := exampleDomains(t)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			b := parseBootstrap(t, f)
			if err := b.ValidateAll(); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			domains := rateLimitDomains(t, b)
			if len(domains) == 0 {
				t.Fatalf("%s: no ratelimit filter", f)
			}
			for _, d := range domains {
				if !known[d] {
					t.Errorf("%s: domain %q has no policy in examples/policies", f, d)
				}
			}
		})
	}
}

// front-proxy-mtls.yaml reaches Floodgate over mTLS: its floodgate cluster
// verifies the server against a CA and presents a client certificate, as
// floodgate's --tls-client-ca demands.
func TestMutualTLSConfig(t *testing.T) {
	b := parseBootstrap(t, "front-proxy-mtls.yaml")
	for _, c := range b.GetStaticResources().GetClusters() {
		if c.GetName() != "floodgate" {
			continue
		}
		msg, err := c.GetTransportSocket().GetTypedConfig().UnmarshalNew()
		if err != nil {
			t.Fatalf("floodgate cluster transport socket: %v", err)
		}
		up, ok := msg.(*tlsv3.UpstreamTlsContext)
		if !ok {
			t.Fatalf("floodgate cluster transport socket is %T, want UpstreamTlsContext", msg)
		}
		ctx := up.GetCommonTlsContext()
		if len(ctx.GetTlsCertificates()) == 0 || ctx.GetTlsCertificates()[0].GetPrivateKey().GetFilename() == "" {
			t.Error("no client certificate and key")
		}
		if ctx.GetValidationContext().GetTrustedCa().GetFilename() == "" {
			t.Error("no CA to verify Floodgate against")
		}
		return
	}
	t.Fatal("no floodgate cluster")
}

func parseBootstrap(t *testing.T, file string) *bootstrapv3.Bootstrap {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &b); err != nil {
		t.Fatalf("%s: not an Envoy bootstrap: %v", file, err)
	}
	return &b
}

// rateLimitDomains lists the domain of every HTTP and network ratelimit
// filter of the bootstrap, checking each points at the floodgate cluster.
func rateLimitDomains(t *testing.T, b *bootstrapv3.Bootstrap) []string {
	t.Helper()
	var domains []string
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				msg, err := f.GetTypedConfig().UnmarshalNew()
				if err != nil {
					t.Fatalf("listener %s filter %s: %v", l.GetName(), f.GetName(), err)
				}
				switch c := msg.(type) {
				case *netratelimit.RateLimit:
					checkCluster(t, c.GetRateLimitService().GetGrpcService().GetEnvoyGrpc().GetClusterName())
					domains = append(domains, c.GetDomain())
				case *hcmv3.HttpConnectionManager:
					for _, hf := range c.GetHttpFilters() {
						m, err := hf.GetTypedConfig().UnmarshalNew()
						if err != nil {
							t.Fatalf("http filter %s: %v", hf.GetName(), err)
						}
						switch rl := m.(type) {
						case *ratelimitfilter.RateLimit:
							checkCluster(t, rl.GetRateLimitService().GetGrpcService().GetEnvoyGrpc().GetClusterName())
							domains = append(domains, rl.GetDomain())
						case *rlqsfilter.RateLimitQuotaFilterConfig:
							checkCluster(t, rl.GetRlqsServer().GetEnvoyGrpc().GetClusterName())
							domains = append(domains, rl.GetDomain())
						}
					}
				}
			}
		}
	}
	return domains
}

func checkCluster(t *testing.T, name string) {
	t.Helper()
	if name != "floodgate" {
		t.Errorf("ratelimit filter calls cluster %q, want floodgate", name)
	}
}

func exampleDomains(t *testing.T) map[string]bool {
	t.Helper()
	entries, err := examples.Policies.ReadDir("policies")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, e := range entries {
		data, _ := examples.Policies.ReadFile("policies/" + e.Name())
		c, err := policy.Parse(e.Name(), data)
		if err != nil {
			t.Fatalf("example %s: %v", e.Name(), err)
		}
		known[c.Domain] = true
	}
	return known
}
