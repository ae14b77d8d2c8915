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
// Watch returns when ctx is done.
func Watch(ctx context.Context, paths []string, interval time.Duration, apply func(*Snapshot), reject func(error)) {
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()

	w := &fileWatch{paths: paths, apply: apply, reject: reject}
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
	apply  func(*Snapshot)
	reject func(error)

	last   [sha256.Size]byte
	loaded bool
}

// poll reads the files once and, on the first poll or when their content
// differs from the last poll's, compiles them and reports the result to
// apply or reject.
func (w *fileWatch) poll() {
	sources, readErrs := readSources(w.paths)
	sum := contentHash(sources, readErrs)
	if w.loaded && sum == w.last {
		return
	}
	w.loaded, w.last = true, sum
	snap, err := compileSources(sources, readErrs)
	switch {
	case err != nil && w.reject != nil:
		w.reject(err)
	case err == nil && w.apply != nil:
		w.apply(snap)
	}
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
