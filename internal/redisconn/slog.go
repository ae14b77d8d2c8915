package redisconn

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

var routeLogs sync.Once

// LogToSlog sends go-redis's own log lines (reconnects, Sentinel
// failovers, pool trouble), which it otherwise prints as plain text on
// stderr, to slog's default logger at the time of each line: a process
// that logs JSON logs them as JSON. Calls after the first do nothing.
func LogToSlog() {
	routeLogs.Do(func() { redis.SetLogger(slogRedis{}) })
}

// slogRedis implements go-redis's internal logging interface. go-redis
// logs only what went wrong or is about to, hence warn.
type slogRedis struct{}

func (slogRedis) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	slog.Default().Log(ctx, slog.LevelWarn, strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "go-redis")
}
