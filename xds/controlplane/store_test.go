package controlplane

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/internal/testserver"
)

// storeCase makes a fresh store and, for stores shared between processes, a
// second handle on the same data (nil otherwise).
type storeCase struct {
	name string
	open func(t *testing.T) (Store, func() Store)
}

func storeCases() []storeCase {
	return []storeCase{
		{"memory", func(t *testing.T) (Store, func() Store) { return NewMemoryStore(), nil }},
		{"file", func(t *testing.T) (Store, func() Store) {
			path := filepath.Join(t.TempDir(), "sub", "policies.json")
			open := func() Store {
				s, err := NewFileStore(path, FileStoreOptions{PollInterval: 10 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			return open(), open
		}},
		{"redis", func(t *testing.T) (Store, func() Store) {
			srv := testserver.Redis(t)
			open := func() Store {
				rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
				t.Cleanup(func() { rdb.Close() })
				return NewRedisStore(rdb, RedisStoreOptions{PollInterval: 20 * time.Millisecond})
			}
			return open(), open
		}},
	}
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			s, _ := sc.open(t)
			defer s.Close()

			c, err := s.Load(ctx)
			if err != nil || c.Revision != 0 || len(c.Records) != 0 {
				t.Fatalf("empty store: %+v, %v", c, err)
			}
			b, err := s.Put(ctx, "b", "domain: b", 0)
			if err != nil || b.Version != 1 {
				t.Fatalf("create b: %+v, %v", b, err)
			}
			if _, err := s.Put(ctx, "a", "domain: a", 0); err != nil {
				t.Fatal(err)
			}
			// Create-only on an existing domain, and a stale version, fail
			// with the version found.
			for _, expected := range []int64{0, 7} {
				_, err = s.Put(ctx, "b", "domain: b # lost", expected)
				var verr *VersionError
				if !errors.As(err, &verr) || verr.Found != 1 || !errors.Is(err, ErrVersionMismatch) {
					t.Fatalf("put b expecting %d: %v", expected, err)
				}
			}
			b, err = s.Put(ctx, "b", "domain: b # 2", 1)
			if err != nil || b.Version != 3 {
				t.Fatalf("replace b: %+v, %v", b, err)
			}
			if _, err := s.Put(ctx, "c", "domain: c", AnyVersion); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Delete(ctx, "c", 1); !errors.Is(err, ErrVersionMismatch) {
				t.Fatalf("delete c at a wrong version: %v", err)
			}
			rev, err := s.Delete(ctx, "c", AnyVersion)
			if err != nil || rev != 5 {
				t.Fatalf("delete c: %d, %v", rev, err)
			}
			if _, err := s.Delete(ctx, "c", AnyVersion); !errors.Is(err, ErrNotFound) {
				t.Fatalf("delete c again: %v", err)
			}
			c, err = s.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []Record{{"a", "domain: a", 2}, {"b", "domain: b # 2", 3}}
			if c.Revision != 5 || len(c.Records) != 2 || c.Records[0] != want[0] || c.Records[1] != want[1] {
				t.Fatalf("load = %+v, want revision 5 and %+v", c, want)
			}
		})
	}
}

// A second handle on a shared store sees the first one's writes, and its
// Watch reports them; Watch returns when its context ends.
func TestStoreSharedWatch(t *testing.T) {
	for _, sc := range storeCases() {
		t.Run(sc.name, func(t *testing.T) {
			s, open := sc.open(t)
			if open == nil {
				t.Skip("not shared")
			}
			other := open()
			ctx, cancel := context.WithCancel(context.Background())
			var changes atomic.Int32
			done := make(chan struct{})
			go func() {
				defer close(done)
				other.Watch(ctx, func() { changes.Add(1) })
			}()
			// The first report says the watch is in place; a write after it
			// is reported.
			testkit.Eventually(t, "the initial report", func() bool { return changes.Load() > 0 })
			before := changes.Load()
			if _, err := s.Put(context.Background(), "d", "domain: d", AnyVersion); err != nil {
				t.Fatal(err)
			}
			testkit.Eventually(t, "the write reported", func() bool { return changes.Load() > before })
			c, err := other.Load(context.Background())
			if err != nil || len(c.Records) != 1 || c.Records[0].Domain != "d" {
				t.Fatalf("other handle: %+v, %v", c, err)
			}
			cancel()
			testkit.Receive(t, "Watch to return after its context ended", done)
		})
	}
}

func TestMemoryStoreWatchStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var changes atomic.Int32
	go func() { defer close(done); NewMemoryStore().Watch(ctx, func() { changes.Add(1) }) }()
	testkit.Eventually(t, "the initial report", func() bool { return changes.Load() == 1 })
	cancel()
	testkit.Receive(t, "Watch to return after its context ended", done)
}

func TestOpenStore(t *testing.T) {
	srv := testserver.Redis(t)
	tests := []struct {
		spec string
		want string
	}{
		{"", "*xds.MemoryStore"},
		{"memory:", "*xds.MemoryStore"},
		{"file:" + filepath.Join(t.TempDir(), "p.json"), "*xds.FileStore"},
		{filepath.Join(t.TempDir(), "q.json"), "*xds.FileStore"},
		{"redis://" + srv.Addr, "*xds.RedisStore"},
	}
	for _, tt := range tests {
		s, err := OpenStore(tt.spec)
		if err != nil {
			t.Fatalf("%s: %v", tt.spec, err)
		}
		if got := typeName(s); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.spec, got, tt.want)
		}
		if _, err := s.Load(context.Background()); err != nil {
			t.Errorf("%s: load: %v", tt.spec, err)
		}
		s.Close()
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *MemoryStore:
		return "*xds.MemoryStore"
	case *FileStore:
		return "*xds.FileStore"
	case *RedisStore:
		return "*xds.RedisStore"
	}
	return "?"
}
