package netlab

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// DialContext dials addr from inside the namespace: the socket is made
// there, so it routes as the namespace's processes do, and it keeps
// belonging to the namespace once the dialing thread has switched back.
// It fits grpc.WithContextDialer, http.Transport and redis.Options.
func (n *NS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.do(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Listen listens on addr inside the namespace.
func (n *NS) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := n.do(func() (err error) {
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// do runs f on an OS thread switched into the namespace, then switches the
// thread back. A thread that cannot switch back stays locked, so that the
// runtime ends it with the goroutine rather than reuse it elsewhere.
func (n *NS) do(f func() error) error {
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: this thread's network namespace: %w", err)
	}
	defer self.Close()
	target, err := os.Open("/run/netns/" + n.Name)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: network namespace %s: %w", n.Name, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: entering network namespace %s: %w", n.Name, err)
	}
	ferr := f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("netlab: leaving network namespace %s: %w", n.Name, err)
	}
	runtime.UnlockOSThread()
	if ferr != nil {
		return fmt.Errorf("in network namespace %s: %w", n.Name, ferr)
	}
	return nil
}
