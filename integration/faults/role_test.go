package faults

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/childproc"
	"github.com/floodgate/floodgate/internal/testserver"
)

// role is one floodgate process: an engine, a replica or a control plane.
// kill stops it as a crash would (SIGKILL); start brings it back on the
// same addresses, with the same arguments.
type role struct {
	name       string
	grpc, http string // host:port
	p          *childproc.Process
}

// newRole prepares `floodgate args...` listening on ip, inside the network
// namespace ns unless it is empty; the addresses follow args as
// --grpc-addr and --http-addr. It is stopped when t ends.
func newRole(t *testing.T, name, ns, ip string, args ...string) *role {
	t.Helper()
	port := func() string { return net.JoinHostPort(ip, strconv.Itoa(testserver.FreePort(t))) }
	r := &role{name: name, grpc: port(), http: port()}
	args = append(args, "--grpc-addr", r.grpc, "--http-addr", r.http, "--log-level", "warn")
	bin := floodgateBin
	if ns != "" {
		// ip netns exec execs the binary: the process killed is floodgate's.
		args = append([]string{"netns", "exec", ns, floodgateBin}, args...)
		bin = "ip"
	}
	r.p = &childproc.Process{Addr: r.http, Bin: bin, Args: args, Ready: listening}
	t.Cleanup(r.p.Stop)
	return r
}

// start runs the process and waits until its HTTP listener answers,
// healthy or not.
func (r *role) start(t *testing.T) {
	t.Helper()
	if err := r.p.Start(context.Background()); err != nil {
		t.Fatalf("%s: %v", r.name, err)
	}
}

// kill stops the process with SIGKILL and waits for it to exit.
func (r *role) kill() { r.p.Stop() }

// healthy reports whether the role's /healthcheck answers 200.
func (r *role) healthy() bool { return get("http://"+r.http+"/healthcheck") == http.StatusOK }

// listening is a role's readiness: its HTTP listener answers at all.
func listening(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	return c.Close()
}

var probeClient = &http.Client{Timeout: time.Second}

// get returns the status of a GET of url, 0 when it does not answer.
func get(url string) int {
	resp, err := probeClient.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
