package testkit

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fatalRecorder is a testing.TB that records Fatalf and, like the real one,
// ends the goroutine that called it.
type fatalRecorder struct {
	testing.TB
	fatal string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// underShortBudget runs f against a fatalRecorder with the budget cut to a
// few milliseconds, and returns what f reported as fatal ("" if nothing)
// and whether f ran to its end.
func underShortBudget(t *testing.T, f func(tb testing.TB)) (fatal string, finished bool) {
	t.Helper()
	saved := budget
	budget = 20 * time.Millisecond
	defer func() { budget = saved }()

	r := &fatalRecorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
		finished = true
	}()
	select {
	case <-done:
	case <-time.After(Budget):
		t.Fatal("the helper under test neither returned nor failed")
	}
	return r.fatal, finished
}

func TestEventuallyFailsWhenTheBudgetRunsOut(t *testing.T) {
	fatal, finished := underShortBudget(t, func(tb testing.TB) {
		Eventually(tb, "the moon to turn blue", func() bool { return false })
	})
	if finished {
		t.Error("Eventually returned although its condition never held")
	}
	if !strings.Contains(fatal, "timed out after 20ms waiting for the moon to turn blue") {
		t.Errorf("failure = %q, want it to name the budget and what was awaited", fatal)
	}
}

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	fatal, finished := underShortBudget(t, func(tb testing.TB) {
		Eventually(tb, "the third call", func() bool { calls++; return calls == 3 })
	})
	if !finished || fatal != "" {
		t.Errorf("finished = %v, failure = %q; want a plain return", finished, fatal)
	}
	if calls != 3 {
		t.Errorf("condition evaluated %d times, want 3", calls)
	}
}

func TestReceiveFailsWhenTheBudgetRunsOut(t *testing.T) {
	fatal, finished := underShortBudget(t, func(tb testing.TB) {
		Receive(tb, "a value nobody sends", make(chan int))
	})
	if finished {
		t.Error("Receive returned although nothing was sent")
	}
	if !strings.Contains(fatal, "timed out after 20ms waiting for a value nobody sends") {
		t.Errorf("failure = %q, want it to name the budget and what was awaited", fatal)
	}
}

func TestReceiveReturnsTheValueSent(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 7
	var got int
	fatal, finished := underShortBudget(t, func(tb testing.TB) {
		got = Receive(tb, "seven", ch)
	})
	if !finished || fatal != "" || got != 7 {
		t.Errorf("got %d, finished = %v, failure = %q; want 7 and a plain return", got, finished, fatal)
	}
}
