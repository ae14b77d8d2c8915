package redisconn

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/testserver"
)

// syncBuffer is a log destination safe for go-redis's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A go-redis log line comes out of a JSON slog handler as one structured
// record.
func TestLogToSlog(t *testing.T) {
	var out syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&out, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	LogToSlog()
	LogToSlog() // a second call is harmless

	srv := testserver.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	// go-redis logs that it rounds a TTL under a millisecond up to one.
	if err := rdb.Set(context.Background(), "k", "v", 500*time.Microsecond).Err(); err != nil {
		t.Fatal(err)
	}

	var found bool
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("a log line that is not JSON: %q", line)
		}
		if msg, _ := rec["msg"].(string); strings.Contains(msg, "minimal supported value") {
			found = true
			if rec["level"] != "WARN" || rec["component"] != "go-redis" {
				t.Errorf("record %v", rec)
			}
		}
	}
	if !found {
		t.Fatalf("no go-redis record in %q", out.String())
	}
}
