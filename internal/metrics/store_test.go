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
// loopback over TCP, what envoyproxy/ratelimit's USE_STATSD sends.
func TestOpenStoreFlushesToStatsdOverTCP(t *testing.T) {
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
	store, prom, err := OpenStore(ctx, StoreOptions{Statsd: l.Addr().String(), StatsdProtocol: "tcp", FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	store.NewCounter("open_store_test").Add(3)
	receiveLine(t, got, "open_store_test:3|c")
	testkit.Eventually(t, "the counter on /metrics", func() bool {
		return strings.Contains(scrape(t, prom, nil), `floodgate_stat_total{stat="open_store_test"} 3`)
	})
}

// listenUDP is a statsd server on loopback: every datagram it receives
// goes to the channel until the test ends.
func listenUDP(t *testing.T) (string, <-chan string) {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	got := make(chan string, 256)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			select {
			case got <- string(buf[:n]):
			default: // the test has what it needs
			}
		}
	}()
	return conn.LocalAddr().String(), got
}

// receiveLine waits until the datagrams or reads received hold every
// line of want; stats flushed again and again (gauges) must not keep it
// waiting past its guard.
func receiveLine(t *testing.T, got <-chan string, want ...string) {
	t.Helper()
	guard := time.After(10 * time.Second)
	var all strings.Builder
	for {
		missing := ""
		for _, w := range want {
			if !strings.Contains(all.String(), w) {
				missing = w
			}
		}
		if missing == "" {
			return
		}
		select {
		case s := <-got:
			all.WriteString(s + "\n")
		case <-guard:
			t.Fatalf("no %q received; got:\n%s", missing, all.String())
		}
	}
}

// Without a protocol, statsd is reached over UDP: a TCP-only listener
// would never see the counter.
func TestOpenStoreFlushesToStatsdOverUDPByDefault(t *testing.T) {
	addr, got := listenUDP(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, _, err := OpenStore(ctx, StoreOptions{Statsd: addr, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	store.ScopeWithTags("ratelimit", map[string]string{"env": "prod"}).NewCounter("udp_test").Add(4)
	// Plain statsd carries tags in the name, as gostats serializes them.
	receiveLine(t, got, "ratelimit.udp_test.__env=prod:4|c")
}

// DogStatsD carries the tags as tags, counters, gauges and timers in its
// format.
func TestOpenStoreFlushesDogStatsdWithTags(t *testing.T) {
	addr, got := listenUDP(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, _, err := OpenStore(ctx, StoreOptions{Statsd: addr, DogStatsd: true, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	scope := store.ScopeWithTags("ratelimit", map[string]string{"env": "prod", "az": "a.1"})
	scope.NewCounter("dog_test").Add(5)
	scope.NewGauge("dog_gauge").Set(7)
	scope.NewTimer("dog_timer").AddValue(12)
	receiveLine(t, got, "ratelimit.dog_test:5|c|#az:a_1,env:prod",
		"ratelimit.dog_gauge:7|g|#az:a_1,env:prod",
		"ratelimit.dog_timer:12|ms|#az:a_1,env:prod")
}

// Disabled stats reach neither statsd nor /metrics.
func TestOpenStoreDisabledSendsNothing(t *testing.T) {
	addr, got := listenUDP(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, prom, err := OpenStore(ctx, StoreOptions{Statsd: addr, Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	store.NewCounter("disabled_test").Add(1)
	if page := scrape(t, prom, store); strings.Contains(page, "disabled_test") {
		t.Errorf("/metrics has a disabled stat:\n%s", page)
	}
	select {
	case line := <-got:
		t.Errorf("statsd received %q with stats disabled", line)
	default:
	}
}

func TestOpenStoreRejectsBadStatsdSettings(t *testing.T) {
	for _, o := range []StoreOptions{
		{Statsd: "no-port"},
		{Statsd: "host:port"},
		{Statsd: "127.0.0.1:8125", StatsdProtocol: "sctp"},
		{DogStatsd: true},
	} {
		_, _, err := OpenStore(context.Background(), o)
		if err == nil {
			t.Errorf("%+v: no error", o)
			continue
		}
		if !strings.Contains(err.Error(), o.Statsd) || (o.StatsdProtocol != "" && !strings.Contains(err.Error(), o.StatsdProtocol)) {
			t.Errorf("%+v: err %v, want one naming what is wrong", o, err)
		}
	}
}
