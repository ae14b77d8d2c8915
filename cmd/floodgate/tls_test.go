package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
	"github.com/floodgate/floodgate/internal/tlsfiles"
)

// The envoyproxy/ratelimit variables set --tls-* when GRPC_SERVER_USE_TLS
// is true and no flag or FLOODGATE_ variable says otherwise.
func TestTLSFlagsFromEnvoyRatelimitEnvironment(t *testing.T) {
	parse := func(t *testing.T, args ...string) tlsfiles.Files {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var f listenerTLSFlags
		f.register(fs)
		if err := parseFlags(fs, args); err != nil {
			t.Fatal(err)
		}
		return f.grpc.files
	}
	t.Setenv(envCert, "/env/cert.pem")
	t.Setenv(envKey, "/env/key.pem")
	t.Setenv(envClientCA, "/env/ca.pem")
	t.Setenv(envClientSAN, "envoy.example")

	t.Run("off without GRPC_SERVER_USE_TLS", func(t *testing.T) {
		if got := parse(t); got.Enabled() {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("on", func(t *testing.T) {
		t.Setenv(envUseTLS, "true")
		want := tlsfiles.Files{CertFile: "/env/cert.pem", KeyFile: "/env/key.pem", CAFile: "/env/ca.pem", ClientSAN: "envoy.example"}
		if got := parse(t); got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	})
	t.Run("flags and FLOODGATE_ win", func(t *testing.T) {
		t.Setenv(envUseTLS, "1")
		t.Setenv("FLOODGATE_TLS_KEY", "/fg/key.pem")
		got := parse(t, "--tls-cert", "/flag/cert.pem")
		want := tlsfiles.Files{CertFile: "/flag/cert.pem", KeyFile: "/fg/key.pem", CAFile: "/env/ca.pem", ClientSAN: "envoy.example"}
		if got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	})
	t.Run("bad GRPC_SERVER_USE_TLS", func(t *testing.T) {
		t.Setenv(envUseTLS, "yes please")
		f := grpcTLSFlags{}
		if _, err := f.serverOption(nil); err == nil || !strings.Contains(err.Error(), envUseTLS) {
			t.Fatalf("err %v, want it to name %s", err, envUseTLS)
		}
	})
}

// The control plane's older --xds-* flags are the --tls-* settings.
func TestControlPlaneXDSFlagsAreTLSFlags(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var f controlPlaneFlags
	f.register(fs)
	if err := parseFlags(fs, []string{"--xds-cert", "c", "--xds-key", "k", "--xds-ca", "a"}); err != nil {
		t.Fatal(err)
	}
	if want := (tlsfiles.Files{CertFile: "c", KeyFile: "k", CAFile: "a"}); f.tls.files != want {
		t.Fatalf("got %+v, want %+v", f.tls.files, want)
	}
}

func clientCreds(t *testing.T, f tlsfiles.Files) grpc.DialOption {
	t.Helper()
	c, err := f.ClientCredentials(tlsfiles.Options{Logger: testkit.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	return grpc.WithTransportCredentials(c)
}

// httpsGet fetches url trusting pki's CA only.
func httpsGet(pki *testkit.PKI, url string) (int, string, error) {
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pki.CAPEM)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// A deployment secured end to end: Envoy's place taken by an mTLS client
// of the RLS, the replica streaming to its engine over mTLS with a token,
// both HTTP listeners on HTTPS. A client without a certificate gets
// nothing from the RLS, and a replica with the wrong token nothing from
// the engine, which counts it.
func TestRolesOverMutualTLS(t *testing.T) {
	pki := testkit.NewPKI(t)
	redisSrv := testserver.Redis(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte("domain: shop\ndescriptors:\n  - key: cart\n    rate_limit: {unit: hour, requests_per_unit: 5}\n"), 0o644)
	writeFile := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	engineTokens := writeFile("engine-tokens", "good\n")
	goodToken, badToken := writeFile("replica-token", "good\n"), writeFile("wrong-token", "bad\n")
	replicaCert, replicaKey := pki.Issue(t, "replica-1", x509.ExtKeyUsageClientAuth)
	addr := func() string { return fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t)) }
	engGRPC, engHTTP := addr(), addr()
	redisURL := "redis://" + redisSrv.Addr + "/0"
	serverTLS := []string{"--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--tls-client-ca", pki.CA,
		"--http-tls-cert", pki.ServerCert, "--http-tls-key", pki.ServerKey}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exits := make(chan int, 3)
	go func() {
		exits <- run(ctx, append([]string{"engine", "--grpc-addr", engGRPC, "--http-addr", engHTTP, "--redis", redisURL,
			"--config", dir, "--log-level", "error", "--engine-token-file", engineTokens, "--allowed-replicas", "replica-1"}, serverTLS...))
	}()
	waitHTTPS(t, pki, "https://"+engHTTP+"/healthcheck")
	startReplica := func(token string) (grpcAddr, httpAddr string) {
		g, h := addr(), addr()
		go func() {
			exits <- run(ctx, append([]string{"rls", "--engine", engGRPC, "--redis", redisURL, "--config", dir,
				"--grpc-addr", g, "--http-addr", h, "--log-level", "error", "--on-engine-down", "deny",
				"--engine-ca", pki.CA, "--engine-cert", replicaCert, "--engine-key", replicaKey, "--engine-token-file", token}, serverTLS...))
		}()
		testkit.Eventually(t, "the replica's HTTPS listener", func() bool { _, _, err := httpsGet(pki, "https://"+h+"/healthcheck"); return err == nil })
		return g, h
	}
	replica, _ := startReplica(goodToken)

	envoy := clientCreds(t, tlsfiles.Files{CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey})
	cc, err := grpc.NewClient(replica, envoy)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	req := &rlsv3.RateLimitRequest{Domain: "shop", Descriptors: []*ratelimitv3.RateLimitDescriptor{{
		Entries: []*ratelimitv3.RateLimitDescriptor_Entry{{Key: "cart", Value: "c1"}}}}}
	var answers []string
	for range 6 {
		resp, err := rlsv3.NewRateLimitServiceClient(cc).ShouldRateLimit(ctx, req)
		if err != nil {
			t.Fatalf("ShouldRateLimit over mTLS: %v", err)
		}
		answers = append(answers, resp.GetOverallCode().String())
	}
	// A 5/hour limit over one replica is granted per request by the
	// engine: the five OKs came through the authenticated lease stream.
	if want := "OK OK OK OK OK OVER_LIMIT"; strings.Join(answers, " ") != want {
		t.Fatalf("answers %v, want %s", answers, want)
	}

	noCert, err := grpc.NewClient(replica, clientCreds(t, tlsfiles.Files{CAFile: pki.CA}))
	if err != nil {
		t.Fatal(err)
	}
	defer noCert.Close()
	if _, err := rlsv3.NewRateLimitServiceClient(noCert).ShouldRateLimit(ctx, req); err == nil {
		t.Fatal("the RLS answered a client without a certificate")
	}

	startReplica(badToken)
	testkit.Eventually(t, "the engine to refuse and count the replica with the wrong token", func() bool {
		_, body, err := httpsGet(pki, "https://"+engHTTP+"/metrics")
		return err == nil && strings.Contains(body, `floodgate_engine_streams_refused_total{reason="bad_token"} `) &&
			!strings.Contains(body, `floodgate_engine_streams_refused_total{reason="bad_token"} 0`)
	})
	cancel()
	waitExits(t, exits, 3)
}

func waitHTTPS(t *testing.T, pki *testkit.PKI, url string) {
	t.Helper()
	testkit.Eventually(t, url+" to answer 200", func() bool {
		code, _, err := httpsGet(pki, url)
		return err == nil && code == http.StatusOK
	})
}
