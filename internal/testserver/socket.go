package testserver

import (
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// RedisUnix starts redis-server listening on a Unix socket in a directory
// of the test (as well as on a loopback port, which childproc restarts on).
// It returns the server and the socket's path.
func RedisUnix(t testing.TB, extra ...string) (*Server, string) {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "redis.sock")
	srv := startOnFreePort(t, func(port int) *Server {
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--unixsocket", sock, "--unixsocketperm", "700",
			"--save", "", "--appendonly", "no", "--dir", dir}, extra...)
		return newServer(t, port, need(t, "redis-server"), args, func(addr string) error {
			if err := ping(addr); err != nil {
				return err
			}
			// The socket is bound with the port; check it answers too.
			c, err := net.DialTimeout("unix", sock, 200*time.Millisecond)
			if err != nil {
				return err
			}
			return c.Close()
		})
	})
	return srv, sock
}
