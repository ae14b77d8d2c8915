package policy

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// DefaultWatchInterval is the polling period Watch uses when given none.
const DefaultWatchInterval = time.Second

// Watch loads paths now and again whenever their content changes, polling
// every interval (DefaultWatchInterval when zero). It calls apply with each
// good snapshot and reject with the Errors of each bad load, once per
// distinct content; after a bad load the last good snapshot stays in force.
// Changes are found by hashing what the files hold, not by modification
// times, so an atomic symlink swap (a Kubernetes ConfigMap update) is seen.
// A load that removes more domains than the zero DropGuard allows is
// rejected as a *DropError (WatchWith takes another guard). Watch returns
// when ctx is done.
func Watch(ctx context.Context, paths []string, interval time.Duration, apply func(*Snapshot), reject func(error)) {
	WatchWith(ctx, WatchOptions{Paths: paths, Interval: interval}, apply, reject)
}

// WatchOptions configure WatchWith.
type WatchOptions struct {
	Paths []string
	// Interval is the polling period; zero means DefaultWatchInterval.
	Interval time.Duration
	// Guard decides which loads may remove domains: the first load must
	// find a policy in every path (DropGuard.CheckStart), each later one
	// must pass DropGuard.CheckReload against the last applied.
	Guard DropGuard
	// InForce are the domains an earlier load of Paths put in force (the
	// caller's start-up load); if set, the first poll is checked as a
	// reload of them, so a change between that load and the first poll is
	// guarded too.
	InForce []string
	// Load says which files are read and how (LoadWith).
	Load LoadOptions
}

func (o WatchOptions) withDefaults() WatchOptions {
	if o.Interval <= 0 {
		o.Interval = DefaultWatchInterval
	}
	return o
}

// WatchWith is Watch with options.
func WatchWith(ctx context.Context, opts WatchOptions, apply func(*Snapshot), reject func(error)) {
	opts = opts.withDefaults()
	newFileWatch(opts, apply, reject).run(ctx, opts.Interval)
}

// StartWatch loads the files once and returns what that load put in force,
// or its error (then nothing keeps watching): a role refuses to start on bad
// policies rather than serve without them. After a good first load it keeps
// watching in the background, as WatchWith does, until ctx is done.
func StartWatch(ctx context.Context, opts WatchOptions, apply func(*Snapshot), reject func(error)) (*Snapshot, error) {
	opts = opts.withDefaults()
	var first *Snapshot
	var firstErr error
	w := newFileWatch(opts, func(s *Snapshot) { first = s }, func(err error) { firstErr = err })
	w.poll()
	if firstErr != nil {
		return nil, firstErr
	}
	if apply != nil {
		apply(first)
	}
	w.apply, w.reject = apply, reject
	go func() {
		// The first poll is done: wait a period before the next.
		t := time.NewTimer(opts.Interval)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.run(ctx, opts.Interval)
	}()
	return first, nil
}

func newFileWatch(opts WatchOptions, apply func(*Snapshot), reject func(error)) *fileWatch {
	return &fileWatch{paths: opts.Paths, load: opts.Load, guard: opts.Guard, apply: apply, reject: reject,
		inForce: opts.InForce, started: opts.InForce != nil}
}

// run polls at once, then every interval until ctx is done.
func (w *fileWatch) run(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		w.poll()
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// fileWatch is what Watch remembers between polls. Its single step, poll,
// is separate from the ticker so that tests can make several edits and then
// poll once, instead of racing a timer.
type fileWatch struct {
	paths  []string
	load   LoadOptions
	guard  DropGuard
	apply  func(*Snapshot)
	reject func(error)

	last    [sha256.Size]byte
	loaded  bool
	started bool     // a snapshot is in force
	inForce []string // its domains
}

// poll reads the files once and, on the first poll or when their content
// differs from the last poll's, compiles them and reports the result to
// apply or reject.
func (w *fileWatch) poll() {
	sources, readErrs := readSources(w.paths, w.load)
	sum := contentHash(sources, readErrs)
	if w.loaded && sum == w.last {
		return
	}
	w.loaded, w.last = true, sum
	snap, err := compileSources(sources, readErrs, w.load)
	if err == nil {
		err = w.checkDrop(snap)
	}
	if err == nil {
		w.started, w.inForce = true, snap.Domains()
	}
	switch {
	case err != nil && w.reject != nil:
		w.reject(err)
	case err == nil && w.apply != nil:
		w.apply(snap)
	}
}

// checkDrop asks the guard whether snap may replace what is in force: the
// first snapshot must come from every path, a later one must not remove
// too many domains. A refused snapshot leaves the last good one in force,
// and its content is not looked at again until it changes.
func (w *fileWatch) checkDrop(snap *Snapshot) error {
	if !w.started {
		return w.guard.CheckStart(w.paths, snap.Configs())
	}
	return w.guard.CheckReload(w.inForce, snap.Domains())
}

// contentHash covers names, contents and read errors, so that a file that
// appears, disappears, changes or becomes unreadable all count as changes.
func contentHash(sources []source, readErrs Errors) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	put := func(b []byte) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, s := range sources {
		put([]byte(s.name))
		put(s.data)
	}
	for _, e := range readErrs {
		put([]byte(e.Error()))
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
