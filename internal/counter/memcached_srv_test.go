package counter

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

func TestParseMemcached(t *testing.T) {
	tests := []struct {
		in   string
		want MemcachedServers
	}{
		{"h1:11211,h2:11211", MemcachedServers{Addrs: []string{"h1:11211", "h2:11211"}}},
		{"memcached://h1:1, h2:2", MemcachedServers{Addrs: []string{"h1:1", "h2:2"}}},
		{"memcached+srv://_memcache._tcp.example.com", MemcachedServers{SRV: "_memcache._tcp.example.com"}},
		{"memcached+srv://_mc._tcp.example.com?refresh=30s", MemcachedServers{SRV: "_mc._tcp.example.com", SRVRefresh: 30 * time.Second}},
	}
	for _, tt := range tests {
		got, err := ParseMemcached(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if ms, err := ParseMemcached("memcacheds://h:1?tls_server_name=mc&tls_skip_hostname_verification=true"); err != nil ||
		ms.TLS == nil || ms.TLS.ServerName != "mc" || ms.TLS.VerifyConnection == nil {
		t.Errorf("memcacheds://: %+v, %v; want TLS verifying the chain only", ms, err)
	}
	for in, wantErr := range map[string]string{
		"memcached+srv://example.com":             "_service._proto.name",
		"memcached://h:1?refresh=1s":              "refresh: needs memcached+srv",
		"memcached+srv://_a._tcp.b?refresh=x":     "refresh",
		"memcached://h:1?tls_ca=x":                "needs memcacheds",
		"memcacheds://h:1?tls_cert=c":             "give both",
		"memcacheds://h:1?tls_ca=/does/not/exist": "tls_ca",
		"memcached://h:1?pool=3":                  "pool: unknown",
		"redis://h:1":                             `scheme "redis"`,
		"memcached://":                            "host: missing",
	} {
		if _, err := ParseMemcached(in); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: %v, want an error naming %q", in, err, wantErr)
		}
	}
}

// fakeSRV answers SRV lookups with the targets a test sets.
type fakeSRV struct {
	mu      sync.Mutex
	targets []*net.SRV
	err     error
	asked   []string
}

func (f *fakeSRV) set(err error, servers ...*testserver.Server) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.targets = err, nil
	for _, s := range servers {
		f.targets = append(f.targets, &net.SRV{Target: "127.0.0.1", Port: uint16(s.Port)})
	}
}

func (f *fakeSRV) lookups() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.asked)
}

func (f *fakeSRV) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, service+"/"+proto+"/"+name)
	return "", f.targets, f.err
}

// Counters on memcached+srv:// go to the record's targets, follow the
// record when it changes, and stay put while a refresh fails.
func TestMemcachedSRV(t *testing.T) {
	a, b := testserver.Memcached(t), testserver.Memcached(t)
	res := &fakeSRV{}
	res.set(nil, a)
	ms, err := ParseMemcached("memcached+srv://_memcache._tcp.cache.example?refresh=20ms")
	if err != nil {
		t.Fatal(err)
	}
	ms.Resolver = res
	m, err := OpenMemcached(ms, testPrefix(t))
	if err != nil {
		t.Fatal(err)
	}
	res.mu.Lock()
	first := res.asked[0]
	res.mu.Unlock()
	if first != "memcache/tcp/cache.example" {
		t.Fatalf("looked up %q, want memcache/tcp/cache.example", first)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts := make([]uint64, 1)
	inc := []Increment{{Key: "k", Hits: 1, Expiry: time.Minute}}
	if err := m.Add(ctx, inc, counts); err != nil || counts[0] != 1 {
		t.Fatalf("Add on the SRV target: %d, %v", counts[0], err)
	}

	// The record moves to b: the counter starts afresh there.
	res.set(nil, b)
	testkit.Eventually(t, "counting on the new SRV target", func() bool {
		return m.Add(ctx, []Increment{{Key: "k", Expiry: time.Minute}}, counts) == nil && counts[0] == 0
	})
	// A failing lookup keeps b.
	res.set(errors.New("SERVFAIL"))
	asked := res.lookups()
	testkit.Eventually(t, "two failed refreshes", func() bool { return res.lookups() >= asked+2 })
	for range 5 {
		if err := m.Add(ctx, inc, counts); err != nil {
			t.Fatalf("Add while the SRV lookup fails: %v", err)
		}
	}
	if counts[0] != 5 {
		t.Fatalf("count %d on b, want 5", counts[0])
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenMemcachedSRVFailsAtStart(t *testing.T) {
	res := &fakeSRV{}
	res.set(errors.New("NXDOMAIN"))
	_, err := OpenMemcached(MemcachedServers{SRV: "_memcache._tcp.nowhere", Resolver: res}, "")
	if err == nil || !strings.Contains(err.Error(), "_memcache._tcp.nowhere") {
		t.Fatalf("OpenMemcached with a failing SRV: %v, want an error naming the record", err)
	}
}
