package metrics

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// A counter reaches both /metrics and a statsd server listening on
// loopback over TCP, gostats' (and envoyproxy/ratelimit's) statsd protocol.
func TestOpenStoreFlushesToStatsd(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string, 64)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			got <- string(buf[:n])
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, prom, err := OpenStore(ctx, StoreOptions{Statsd: l.Addr().String(), FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	store.NewCounter("open_store_test").Add(3)
	for {
		line := testkit.Receive(t, "the counter on statsd", got)
		if strings.Contains(line, "open_store_test:3|c") {
			break
		}
	}
	testkit.Eventually(t, "the counter on /metrics", func() bool {
		var b strings.Builder
		prom.Write(&b)
		return strings.Contains(b.String(), "open_store_test 3")
	})
}

func TestOpenStoreRejectsBadStatsdAddress(t *testing.T) {
	for _, addr := range []string{"no-port", "host:port"} {
		if _, _, err := OpenStore(context.Background(), StoreOptions{Statsd: addr}); err == nil || !strings.Contains(err.Error(), addr) {
			t.Errorf("statsd %q: err %v, want one naming the address", addr, err)
		}
	}
}
