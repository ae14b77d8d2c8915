package serving

import (
	"fmt"
	"net"
	"strconv"
)

// Listeners are a role's bound addresses: gRPC always, HTTP when not nil.
type Listeners struct {
	GRPC, HTTP net.Listener
}

// Listen binds both addresses; an empty httpAddr means no HTTP listener.
// grpcAddr may name a unix socket, unix:///path (ListenGRPC).
// Binding before serving lets a role learn a port-0 address, or fail on a
// busy port, before it builds anything that needs the address.
func Listen(grpcAddr, httpAddr string) (Listeners, error) {
	var l Listeners
	var err error
	if l.GRPC, err = ListenGRPC(grpcAddr); err != nil {
		return Listeners{}, fmt.Errorf("grpc listener: %w", err)
	}
	if httpAddr != "" {
		if l.HTTP, err = net.Listen("tcp", httpAddr); err != nil {
			l.GRPC.Close()
			return Listeners{}, fmt.Errorf("http listener: %w", err)
		}
	}
	return l, nil
}

// Close releases the listeners of a role that fails before it serves;
// after Serve it changes nothing, the servers having closed them.
func (l Listeners) Close() {
	for _, lis := range []net.Listener{l.GRPC, l.HTTP} {
		if lis != nil {
			lis.Close()
		}
	}
}

// LoopbackGRPC is the address another part of this process dials to reach
// the gRPC listener: a wildcard host becomes 127.0.0.1.
func (l Listeners) LoopbackGRPC() string {
	if u, ok := l.GRPC.Addr().(*net.UnixAddr); ok {
		return unixScheme + u.Name
	}
	a, ok := l.GRPC.Addr().(*net.TCPAddr)
	if ok && a.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
	}
	return l.GRPC.Addr().String()
}
