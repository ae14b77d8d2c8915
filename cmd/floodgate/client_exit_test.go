package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testserver"
)

// serve on a unix socket (--grpc-addr unix:///path) answers the client
// there; `client --fail-over-limit` exits 0 on OK and 3 on OVER_LIMIT;
// the socket file is gone once serve stops.
func TestUnixSocketAndClientExitCode(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "rls.sock")
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	stop := startServeOn(t, "unix://"+sock, httpAddr, "--mode", "exact")
	waitHTTP(t, "http://"+httpAddr+"/healthcheck")

	args := []string{"--addr", "unix://" + sock, "--domain", "api", "--descriptor", "path=/v1/login,remote_address=10.0.0.7", "--hits", "10", "--fail-over-limit"}
	var out bytes.Buffer
	if err := clientTo(context.Background(), args, &out); err != nil {
		t.Fatalf("first call over the socket: %v\n%s", err, out.String())
	}
	out.Reset()
	err := clientTo(context.Background(), args, &out)
	if !errors.Is(err, errOverLimit) || !strings.Contains(out.String(), "overall: OVER_LIMIT") {
		t.Fatalf("second call: %v\n%s", err, out.String())
	}
	if code := run(context.Background(), append([]string{"client"}, args...)); code != 3 {
		t.Errorf("floodgate client --fail-over-limit over the limit: exit %d, want 3", code)
	}
	if code := run(context.Background(), append([]string{"client"}, args[:len(args)-1]...)); code != 0 {
		t.Errorf("floodgate client without --fail-over-limit over the limit: exit %d, want 0", code)
	}

	stop()
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket file after serve returned: %v, want removed", err)
	}
}
