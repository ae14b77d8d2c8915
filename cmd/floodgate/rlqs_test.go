package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	rlqsv3 "github.com/envoyproxy/go-control-plane/envoy/service/rate_limit_quota/v3"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/floodgate/floodgate/internal/tlsfiles"
)

// `floodgate serve` answers Envoy's RLQS on its gRPC port, over the
// listener's mutual TLS, with tokens of its leases; stopping it sends every
// stream's assignments again with a TTL of 0 before the stream ends.
func TestServeAnswersRLQSOverMutualTLS(t *testing.T) {
	pki := testkit.NewPKI(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "edge.yaml"), []byte("domain: edge\ndescriptors:\n  - key: tenant\n    rate_limit: {unit: hour, requests_per_unit: 1000}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	grpcAddr, httpAddr, stop := startServeHTTP(t, "--config", dir, "--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--tls-client-ca", pki.CA)
	cc, err := grpc.NewClient(grpcAddr, clientCreds(t, tlsfiles.Files{CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := rlqsv3.NewRateLimitQuotaServiceClient(cc).StreamRateLimitQuotas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := &rlqsv3.BucketId{Bucket: map[string]string{"tenant": "t1"}}
	if err := st.Send(&rlqsv3.RateLimitQuotaUsageReports{Domain: "edge", BucketQuotaUsages: []*rlqsv3.RateLimitQuotaUsageReports_BucketQuotaUsage{
		{BucketId: id, NumRequestsDenied: 5}}}); err != nil {
		t.Fatal(err)
	}
	resp, err := st.Recv()
	if err != nil {
		t.Fatalf("RLQS over mTLS: %v", err)
	}
	a := resp.GetBucketAction()[0].GetQuotaAssignmentAction()
	tb := a.GetRateLimitStrategy().GetTokenBucket()
	if tb.GetMaxTokens() == 0 || tb.GetFillInterval().GetSeconds() < 1 || a.GetAssignmentTimeToLive().GetSeconds() < 1 {
		t.Fatalf("assignment %v: want a token bucket of granted tokens, a fill interval and a TTL of whole seconds", a)
	}

	// The dashboard's flow shows the tokens that went to Envoy.
	testkit.Eventually(t, "the RLQS flow on the dashboard", func() bool {
		var st struct {
			Flows []struct {
				Name  string
				Value uint64
			}
		}
		r, err := http.Get("http://" + httpAddr + "/ui/state")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		if json.NewDecoder(r.Body).Decode(&st) != nil {
			return false
		}
		for _, f := range st.Flows {
			if f.Name == "rlqs tokens assigned" && f.Value == uint64(tb.GetMaxTokens()) {
				return true
			}
		}
		return false
	})

	go stop()
	resp, err = st.Recv()
	if err != nil {
		t.Fatalf("no assignment on stop: %v", err)
	}
	if ttl := resp.GetBucketAction()[0].GetQuotaAssignmentAction().GetAssignmentTimeToLive(); ttl == nil || ttl.AsDuration() != 0 {
		t.Fatalf("on stop: TTL %v, want 0", ttl)
	}
}

// `floodgate rls` answers the RLQS with tokens its remote engine granted,
// and hands out no more than the limit across its streams.
func TestRLSAnswersRLQSFromItsEngine(t *testing.T) {
	redisSrv := testserver.Redis(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "edge.yaml"), []byte("domain: edge\ndescriptors:\n  - key: tenant\n    rate_limit: {unit: hour, requests_per_unit: 40}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := func() string { return fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t)) }
	engGRPC, engHTTP, rlsGRPC, rlsHTTP := addr(), addr(), addr(), addr()
	redisURL := "redis://" + redisSrv.Addr + "/0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exits := make(chan int, 2)
	go func() {
		exits <- run(ctx, []string{"engine", "--grpc-addr", engGRPC, "--http-addr", engHTTP, "--redis", redisURL, "--config", dir, "--log-level", "error"})
	}()
	waitHTTP(t, "http://"+engHTTP+"/healthcheck")
	go func() {
		exits <- run(ctx, []string{"rls", "--engine", engGRPC, "--redis", redisURL, "--config", dir,
			"--grpc-addr", rlsGRPC, "--http-addr", rlsHTTP, "--log-level", "error"})
	}()
	waitHTTP(t, "http://"+rlsHTTP+"/healthcheck")

	var granted uint32
	for range 3 {
		st, err := rlqsv3.NewRateLimitQuotaServiceClient(rlsConn(t, rlsGRPC)).StreamRateLimitQuotas(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Send(&rlqsv3.RateLimitQuotaUsageReports{Domain: "edge", BucketQuotaUsages: []*rlqsv3.RateLimitQuotaUsageReports_BucketQuotaUsage{
			{BucketId: &rlqsv3.BucketId{Bucket: map[string]string{"tenant": "t1"}}, NumRequestsDenied: 1000}}}); err != nil {
			t.Fatal(err)
		}
		resp, err := st.Recv()
		if err != nil {
			t.Fatalf("RLQS on rls: %v", err)
		}
		s := resp.GetBucketAction()[0].GetQuotaAssignmentAction().GetRateLimitStrategy()
		granted += s.GetTokenBucket().GetMaxTokens()
		if s.GetTokenBucket() == nil && s.GetBlanketRule().String() != "DENY_ALL" {
			t.Fatalf("assignment %v: want tokens or DENY_ALL", s)
		}
	}
	if granted == 0 || granted > 40 {
		t.Fatalf("three streams wanting 1000 each were given %d tokens of a limit of 40", granted)
	}
	cancel()
	waitExits(t, exits, 2)
}
