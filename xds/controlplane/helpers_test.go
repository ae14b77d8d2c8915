package controlplane

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/xds"
)

const apiPolicy = `domain: api
descriptors:
  - key: path
    value: /login
    rate_limit: {unit: minute, requests_per_unit: 5}
`

const webPolicy = `domain: web
descriptors:
  - key: remote_address
    rate_limit: {unit: second, requests_per_unit: 100}
`

// controlPlane is a Server serving on loopback.
type controlPlane struct {
	*Server
	grpcAddr string
	httpURL  string
	stop     func() // stops Serve and waits for it
}

func startControlPlane(t *testing.T, opts ServerOptions) *controlPlane {
	t.Helper()
	srv, err := NewServer(context.Background(), opts)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, gl, hl) }()
	scheme := "http://"
	if opts.AdminTLS.Enabled() {
		scheme = "https://"
	}
	cp := &controlPlane{Server: srv, grpcAddr: gl.Addr().String(), httpURL: scheme + hl.Addr().String()}
	stopped := false
	cp.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := testkit.Receive(t, "Serve to return", done); err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(cp.stop)
	return cp
}

// do sends an admin request and returns the status and body.
func do(t *testing.T, c *http.Client, method, url, token, body string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// domains lists a snapshot's domains.
func domains(s *policy.Snapshot) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, c := range s.Configs() {
		out = append(out, c.Domain)
	}
	return out
}

// compileResources decodes and compiles resources as a client would.
func compileResources(t *testing.T, rs map[string]types.Resource) *policy.Snapshot {
	t.Helper()
	var anys []*anypb.Any
	for _, r := range rs {
		a, err := anypb.New(r)
		if err != nil {
			t.Fatal(err)
		}
		anys = append(anys, a)
	}
	configs, err := xds.Decode(anys)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := policy.Compile(configs)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}
