package testserver

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// SentinelMaster is the name under which RedisSentinel monitors its master.
const SentinelMaster = "floodgate"

// RedisSentinel starts a redis-sentinel that monitors master as
// SentinelMaster with a quorum of one. extra adds command-line config
// ("--requirepass", "secret").
func RedisSentinel(t testing.TB, master *Server, extra ...string) *Server {
	t.Helper()
	dir := t.TempDir()
	return startOnFreePort(t, func(port int) *Server {
		// Sentinel insists on a writable config file: it records what it learns there.
		conf := filepath.Join(dir, "sentinel.conf")
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 1\n",
			port, dir, SentinelMaster, master.Port)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatalf("sentinel config: %v", err)
		}
		return newServer(t, port, need(t, "redis-sentinel"), append([]string{conf}, extra...), nil)
	})
}
