package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// servingRoles are the commands that run until told to stop.
var servingRoles = map[string]bool{"serve": true, "rls": true, "engine": true, "control-plane": true}

// logStop starts timing role's stop when ctx ends; the func it returns
// logs the one line that says the role stopped and how long the stop took
// (from the signal to the last step), or why it stopped without one.
func logStop(ctx context.Context, role string) (stopped func(err error)) {
	var asked atomic.Int64 // unix nanoseconds of the stop signal; 0: none
	unhook := context.AfterFunc(ctx, func() { asked.Store(time.Now().UnixNano()) })
	return func(err error) {
		unhook()
		at := asked.Load()
		if at == 0 && ctx.Err() != nil {
			// Asked to stop, and the AfterFunc, which runs in a goroutine
			// of its own, has not yet noted when.
			at = time.Now().UnixNano()
		}
		switch {
		case at == 0 && err != nil:
			slog.Error("floodgate stopped", "role", role, "err", err)
			return
		case at == 0:
			slog.Info("floodgate stopped", "role", role)
			return
		}
		took := time.Since(time.Unix(0, at)).Round(time.Millisecond)
		if err != nil {
			slog.Warn("floodgate stopped", "role", role, "took", took, "err", err)
			return
		}
		slog.Info("floodgate stopped", "role", role, "took", took)
	}
}
