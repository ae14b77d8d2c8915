// Package testkit is what Floodgate's tests share: waiting for a condition
// or a channel with a budget that fails the test instead of hanging it, and
// a logger that keeps components quiet under test.
package testkit

import (
	"log/slog"
	"testing"
	"time"
)

// Budget is how long Eventually and Receive wait before failing the test.
// It is generous on purpose: it only runs out when the test fails, and a
// loaded 2-core CI machine must not turn slowness into failure.
const Budget = 10 * time.Second

// budget is the Budget in force; testkit's own tests shorten it to show a
// failure without waiting ten seconds.
var budget = Budget

// poll is how often Eventually checks its condition.
const poll = 5 * time.Millisecond

// Quiet discards every log record; tests assert on state and stats, not on
// log lines.
var Quiet = slog.New(slog.DiscardHandler)

// Eventually fails t unless cond holds within Budget; what names the
// awaited state in the failure.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(budget)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", budget, what)
		}
		time.Sleep(poll)
	}
}

// Receive returns the next value from ch, or fails t after Budget; what
// names the awaited value in the failure.
func Receive[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	timer := time.NewTimer(budget)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("timed out after %v waiting for %s", budget, what)
		panic("unreachable")
	}
}
