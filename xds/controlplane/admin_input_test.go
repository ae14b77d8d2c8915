package controlplane

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/floodgate/floodgate/internal/testkit"
)

// The admin API refuses domain names outside its safe set, naming the
// problem, and takes the Bearer scheme in any case.
func TestAdminAPIChecksDomainNamesAndAuthScheme(t *testing.T) {
	cp := startControlPlane(t, ServerOptions{AdminToken: "s3cret", Logger: testkit.Quiet})
	policyFor := func(domain string) string {
		return strings.Replace(apiPolicy, "domain: api", "domain: '"+domain+"'", 1)
	}
	long := strings.Repeat("a", 64<<10)
	tests := []struct {
		name, path, domain string
		header             []string
		wantCode           int
		wantBody           string
	}{
		{"a path", "/v1/policies/..%2F..%2Fetc%2Fx", "../../etc/x", nil, 400, "must begin with a letter or a digit"},
		{"a slash", "/v1/policies/etc%2Fx", "etc/x", nil, 400, "at byte 3 is not allowed"},
		{"a dot first", "/v1/policies/.hidden", ".hidden", nil, 400, "must begin with a letter or a digit"},
		{"a space", "/v1/policies/a%20b", "a b", nil, 400, "at byte 1 is not allowed"},
		{"a control character", "/v1/policies/a%0Ab", "a\nb", nil, 400, "at byte 1 is not allowed"},
		{"64 KiB", "/v1/policies/" + long, long, nil, 400, "is 65536 bytes long; the maximum is 128"},
		{"the longest name", "/v1/policies/" + long[:MaxDomainBytes], long[:MaxDomainBytes], nil, 201, ""},
		{"a safe name", "/v1/policies/edge-proxy_v2.per_ip", "edge-proxy_v2.per_ip", nil, 201, ""},
		{"lowercase bearer", "/v1/policies/lower", "lower", []string{"Authorization", "bearer s3cret"}, 201, ""},
		{"uppercase BEARER", "/v1/policies/upper", "upper", []string{"Authorization", "BEARER s3cret"}, 201, ""},
		{"another scheme", "/v1/policies/basic", "basic", []string{"Authorization", "Basic s3cret"}, 401, "bearer token"},
	}
	for _, tt := range tests {
		token := "s3cret"
		if tt.header != nil {
			token = ""
		}
		code, body, _ := do(t, nil, "PUT", cp.httpURL+tt.path, token, policyFor(tt.domain), tt.header...)
		if code != tt.wantCode || !strings.Contains(body, tt.wantBody) {
			t.Errorf("%s: PUT %.60s = %d %.200s\nwant %d containing %q", tt.name, tt.path, code, body, tt.wantCode, tt.wantBody)
		}
	}
	for _, d := range status(t, cp).Domains {
		if strings.ContainsAny(d.Domain, "/ \n") || len(d.Domain) > MaxDomainBytes {
			t.Errorf("an unsafe name was stored: %.60q", d.Domain)
		}
	}
}

// addrListener is a loopback listener that reports another address, so
// that Serve's view of a public listener is tested without opening one.
type addrListener struct {
	net.Listener
	addr net.Addr
}

func (l addrListener) Addr() net.Addr { return l.addr }

// logBuffer collects log lines from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A token accepted over plain HTTP on an address other hosts can reach is
// logged as a warning when the control plane starts; on loopback, or with
// no token, it is not.
func TestPlainHTTPAdminTokenWarning(t *testing.T) {
	public := &net.TCPAddr{IP: net.IPv4zero, Port: 18080}
	tests := []struct {
		name  string
		token string
		addr  net.Addr // reported by the HTTP listener; nil: its own
		warn  bool
	}{
		{"token on all interfaces", "s3cret", public, true},
		{"token on a LAN address", "s3cret", &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 18080}, true},
		{"token on loopback", "s3cret", nil, false},
		{"no token", "", public, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			srv, err := NewServer(context.Background(), ServerOptions{AdminToken: tt.token, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			gl, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			hl, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			url := "http://" + hl.Addr().String()
			var lis net.Listener = hl
			if tt.addr != nil {
				lis = addrListener{Listener: hl, addr: tt.addr}
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx, gl, lis) }()
			defer func() {
				cancel()
				if err := testkit.Receive(t, "Serve to return", done); err != nil {
					t.Errorf("serve: %v", err)
				}
			}()
			testkit.Eventually(t, "the admin API up", func() bool {
				resp, err := http.Get(url + "/healthz")
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK
			})
			if got := strings.Contains(logs.String(), "plain HTTP"); got != tt.warn {
				t.Errorf("warned: %v, want %v; logs:\n%s", got, tt.warn, logs.String())
			}
		})
	}
}
