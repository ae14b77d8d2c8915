package decisions

import (
	"context"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/internal/testserver"
)

// OpenBrokers names each broker without its password and publishes to
// every one; Close releases the clients.
func TestOpenBrokers(t *testing.T) {
	a, b := testserver.Redis(t), testserver.Redis(t)
	urls := []string{"redis://" + a.Addr, "redis://:s3cret@" + b.Addr + "/0"}
	brokers, err := OpenBrokers(urls[:1], RedisBusOptions{Prefix: "brokers-test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := brokers.Bus.Publish(context.Background(), []Decision{{Key: "k", State: Throttled, WindowEnd: inAMinute(), Seq: 1}}); err != nil {
		t.Fatal(err)
	}
	n, err := brokers.Clients[0].HLen(context.Background(), "brokers-test:{decisions}:active").Result()
	if err != nil || n != 1 {
		t.Fatalf("decisions in force on the broker: %d, %v; want 1", n, err)
	}
	brokers.Close()
	if err := brokers.Clients[0].Ping(context.Background()).Err(); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("ping after Close = %v, want the client closed", err)
	}

	two, err := OpenBrokers(urls, RedisBusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer two.Close()
	if len(two.Clients) != 2 || two.Names[0] != urls[0] || strings.Contains(two.Names[1], "s3cret") {
		t.Errorf("names = %v, want both URLs without the password", two.Names)
	}
}

func TestOpenBrokersErrors(t *testing.T) {
	if _, err := OpenBrokers([]string{"redis://127.0.0.1:1", "http://127.0.0.1:2"}, RedisBusOptions{}); err == nil ||
		!strings.Contains(err.Error(), "redis URL") {
		t.Errorf("a bad URL: %v", err)
	}
	if _, err := OpenBrokers(nil, RedisBusOptions{}); err == nil || !strings.Contains(err.Error(), "no endpoints") {
		t.Errorf("no URL: %v", err)
	}
}
