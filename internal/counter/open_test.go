package counter

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testserver"
)

func TestOpen(t *testing.T) {
	redisURL := "redis://" + testserver.Redis(t).Addr
	memcached := []string{testserver.Memcached(t).Addr}
	for _, tc := range []struct {
		name string
		loc  Location
		want string // the store's type
	}{
		{"in process", Location{}, "*counter.Memory"},
		{"in process, batched", Location{Batched: true}, "*counter.Memory"},
		{"redis", Location{RedisURL: redisURL, Prefix: testPrefix(t)}, "counter.closingRedis"},
		{"redis, batched", Location{RedisURL: redisURL, Prefix: testPrefix(t), Batched: true}, "*counter.Batching"},
		{"memcached", Location{Memcached: memcached, Prefix: testPrefix(t)}, "*counter.Memcached"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.loc)
			if err != nil {
				t.Fatal(err)
			}
			if got := typeName(s); got != tc.want {
				t.Errorf("store is %s, want %s", got, tc.want)
			}
			counts := make([]uint64, 1)
			inc := []Increment{{Key: "open-" + tc.name, Hits: 2, Expiry: time.Minute}}
			if err := s.Add(context.Background(), inc, counts); err != nil || counts[0] != 2 {
				t.Fatalf("Add = %v, count %d; want 2", err, counts[0])
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		})
	}
}

// Closing a Redis store closes the client Open made for it.
func TestOpenRedisClosesItsClient(t *testing.T) {
	s, err := Open(Location{RedisURL: "redis://" + testserver.Redis(t).Addr, Prefix: testPrefix(t)})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	counts := make([]uint64, 1)
	err = s.Add(context.Background(), []Increment{{Key: "k", Hits: 1, Expiry: time.Minute}}, counts)
	if err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Add after Close = %v, want the client closed", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Location{RedisURL: "redis://127.0.0.1:1", Memcached: []string{"127.0.0.1:1"}}); err == nil ||
		!strings.Contains(err.Error(), "give one store") {
		t.Errorf("Redis and memcached: %v", err)
	}
	if _, err := Open(Location{RedisURL: "http://127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "redis URL") {
		t.Errorf("bad Redis URL: %v", err)
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }
