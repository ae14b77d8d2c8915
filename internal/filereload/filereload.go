// Package filereload keeps a value read from files current while the files
// change under a running process: a certificate and its key, a CA bundle, a
// token list. Kubernetes rotates a mounted secret by swapping a symlink, so
// a change is seen by stat (file identity, size, modification time), and
// the files are re-read only when a stat differs. Nothing runs in the
// background: the value is checked when it is used, at most once per
// Options.Every, so an idle process holds no goroutine.
package filereload

import (
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	stats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/nullstats"
)

// Options configure a Value.
type Options[T any] struct {
	// Paths are the files Load reads; a change of any of them reloads.
	Paths []string
	// Load reads the value from Paths.
	Load func() (T, error)
	// Every is the least time between two checks of Paths. Default 1s.
	Every time.Duration
	// Stats receives reloaded and reload_failed; discarded when nil.
	Stats  stats.Scope
	Logger *slog.Logger     // slog.Default() when nil
	Now    func() time.Time // time.Now when nil
}

func (o Options[T]) withDefaults() Options[T] {
	if o.Every <= 0 {
		o.Every = time.Second
	}
	o.Stats = nullstats.Or(o.Stats)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Value is the last good value read from its files.
type Value[T any] struct {
	o        Options[T]
	reloaded stats.Counter
	failed   stats.Counter
	cur      atomic.Pointer[T]

	mu      sync.Mutex
	checked time.Time
	stamps  []stamp // of the files at the last load attempt, good or bad
}

// New reads the value once; a process must not start on files it cannot
// read.
func New[T any](o Options[T]) (*Value[T], error) {
	o = o.withDefaults()
	v := &Value[T]{o: o, reloaded: o.Stats.NewCounter("reloaded"), failed: o.Stats.NewCounter("reload_failed")}
	v.stamps = stampAll(o.Paths)
	first, err := o.Load()
	if err != nil {
		return nil, err
	}
	v.cur.Store(&first)
	v.checked = o.Now()
	return v, nil
}

// Current returns the value in force, first re-reading the files if they
// changed since the last check and that check is Every old. A file that
// fails to load leaves the last good value in force, logged and counted
// once per change of the files.
func (v *Value[T]) Current() T {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.o.Now()
	if now.Sub(v.checked) < v.o.Every {
		return *v.cur.Load()
	}
	v.checked = now
	st := stampAll(v.o.Paths)
	if sameStamps(st, v.stamps) {
		return *v.cur.Load()
	}
	// Remembered even when the load fails: a half-written rotation is
	// retried when the files change again, not on every check.
	v.stamps = st
	next, err := v.o.Load()
	if err != nil {
		v.failed.Inc()
		v.o.Logger.Error("reloading files failed; keeping the last good ones", "files", v.o.Paths, "err", err)
		return *v.cur.Load()
	}
	v.cur.Store(&next)
	v.reloaded.Inc()
	v.o.Logger.Info("files reloaded", "files", v.o.Paths)
	return next
}

// stamp is what a stat says of one file; info is nil when it is missing.
type stamp struct{ info os.FileInfo }

func stampAll(paths []string) []stamp {
	out := make([]stamp, len(paths))
	for i, p := range paths {
		if fi, err := os.Stat(p); err == nil { // through symlinks: the file a rotation swaps in
			out[i] = stamp{fi}
		}
	}
	return out
}

func sameStamps(a, b []stamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i].info, b[i].info
		if (x == nil) != (y == nil) {
			return false
		}
		if x != nil && (!os.SameFile(x, y) || x.Size() != y.Size() || !x.ModTime().Equal(y.ModTime())) {
			return false
		}
	}
	return true
}
