package main

import (
	"context"
	"fmt"
	"io"
	"time"

	commonrl "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/internal/envoywire"
	"github.com/floodgate/floodgate/internal/load"
)

// hostileCalls is how many times --hostile sends each case by default:
// more than the example policy's 100 a minute on remote_address, so that a
// value that escapes its limit shows.
const hostileCalls = 150

// runHostile sends each hostile request shape to --addr (or to the first
// --start mode in this process) and prints what came back. Any RLS can be
// the target, envoyproxy/ratelimit included.
func runHostile(ctx context.Context, w io.Writer, f *benchFlags) error {
	d, err := parseDescriptor(f.desc)
	if err != nil {
		return err
	}
	addr := f.addr
	if addr == "" {
		mode := first((listFlag{f.start}).items())
		a, stop, err := startInProcess(ctx, mode, f.configs.items(), f.redis)
		if err != nil {
			return err
		}
		defer stop()
		addr = a
	}
	n := hostileCalls
	if f.count > 0 {
		n = int(f.count)
	}
	plain := envoywire.AppendRequest(nil, &rlsv3.RateLimitRequest{Domain: f.domain,
		Descriptors: []*commonrl.RateLimitDescriptor{{Entries: d.Entries}}})
	rows, err := load.Hostile(ctx, addr, load.HostileCases(f.domain, d.Entries), plain, n, time.Second)
	if err != nil {
		return fmt.Errorf("hostile: %w", err)
	}
	return load.PrintHostile(w, rows)
}
