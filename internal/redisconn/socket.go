package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// parseSocket reads unix://[user:pass@]/path: hosts is what stands before
// the path (empty), path the socket's path without its leading "/".
// envoyproxy/ratelimit's REDIS_SOCKET_TYPE=unix is this form.
func parseSocket(opts *redis.UniversalOptions, hosts, path string) error {
	if hosts != "" {
		return fmt.Errorf("host %q: unix:// takes a path, not a host (unix:///path/to/redis.sock)", hosts)
	}
	if path == "" {
		return errors.New("path: missing socket path (unix:///path/to/redis.sock)")
	}
	sock := "/" + path
	// Addrs names the socket in logs; the dialler ignores the address
	// go-redis hands it, which would be dialled as TCP.
	opts.Addrs = []string{sock}
	opts.Dialer = func(ctx context.Context, _, _ string) (net.Conn, error) {
		timeout := opts.DialTimeout
		if timeout == 0 {
			timeout = 5 * time.Second // go-redis's own default
		}
		d := net.Dialer{Timeout: timeout}
		return d.DialContext(ctx, "unix", sock)
	}
	return nil
}
