package serving

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"
)

// unixScheme starts a gRPC address that names a unix socket, as grpc-go's
// dialer reads it.
const unixScheme = "unix://"

// ListenGRPC binds a gRPC address: host:port over TCP, or a unix socket
// named unix:///path or unix:path (envoyproxy/ratelimit's GRPC_UDS). A
// socket file left by a process that died is removed first; the listener
// removes its file when it closes, which the gRPC server does at stop.
func ListenGRPC(addr string) (net.Listener, error) {
	path, ok := unixPath(addr)
	if !ok {
		return net.Listen("tcp", addr)
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	l.(*net.UnixListener).SetUnlinkOnClose(true)
	return l, nil
}

// unixPath is the socket path of a unix: address.
func unixPath(addr string) (string, bool) {
	if p, ok := strings.CutPrefix(addr, unixScheme); ok {
		return p, true
	}
	return strings.CutPrefix(addr, "unix:")
}

// removeStaleSocket removes the socket file at path unless a process
// still accepts on it. Anything but a socket is left alone: a mistyped
// path must not delete a file.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("unix socket %s: %w", path, err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("unix socket %s: the path exists and is not a socket; refusing to replace it", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("unix socket %s: another process is listening on it", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("unix socket %s: removing the stale socket: %w", path, err)
	}
	return nil
}
