package counter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// MinRedisVersion is the oldest Redis the counters run on: the scripts
// use nothing newer, and older servers replicate a script's writes by
// re-running it, which TIME in the grant script does not survive.
const MinRedisVersion = "6.0"

// ErrRedisTooOld is the error of a store on a Redis older than
// MinRedisVersion; it matches errors.Is.
var ErrRedisTooOld = errors.New("redis server too old")

// versionCheck asks the server its version once, at the first Add, Grant
// or Ping that reaches it. A failure (the network, a refused login) is
// retried at the next call; an answer is kept. Two first calls at once may both ask: harmless.
type versionCheck struct {
	done atomic.Bool
	err  atomic.Pointer[error]
}

func (v *versionCheck) check(ctx context.Context, c redis.UniversalClient) error {
	if v.done.Load() {
		if p := v.err.Load(); p != nil {
			return *p
		}
		return nil
	}
	info, err := c.Info(ctx, "server").Result()
	switch {
	case isReply(err) && (redis.HasErrorPrefix(err, "NOPERM") || strings.Contains(err.Error(), "unknown command")):
		// INFO refused (an ACL user without it, a managed Redis that
		// renamed it): the version is unknown, so count and let an
		// unsupported command fail on its own.
		v.done.Store(true)
		return nil
	case err != nil:
		return fmt.Errorf("counter: redis version check (INFO server): %w", err)
	}
	if err := checkRedisVersion(info); err != nil {
		v.err.Store(&err)
	}
	v.done.Store(true)
	return v.check(ctx, c)
}

// checkRedisVersion reads redis_version from INFO server's text and fails
// for a version older than MinRedisVersion. A missing or unreadable
// version passes: a Redis-compatible server may report its own.
func checkRedisVersion(info string) error {
	for line := range strings.Lines(info) {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:")
		if !ok {
			continue
		}
		// The minimum is a major version: the major alone decides.
		major, _, _ := strings.Cut(v, ".")
		if n, err := strconv.Atoi(major); err == nil && n < 6 {
			return fmt.Errorf("counter: %w: Redis %s, Floodgate needs Redis %s or newer", ErrRedisTooOld, v, MinRedisVersion)
		}
		return nil
	}
	return nil
}
