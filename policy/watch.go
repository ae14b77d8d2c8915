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

	var last [sha256.Size]byte
	loaded := false
	for {
		if ctx.Err() != nil {
			return
		}
		sources, readErrs := readSources(paths)
		if sum := contentHash(sources, readErrs); !loaded || sum != last {
			loaded, last = true, sum
			snap, err := compileSources(sources, readErrs)
			switch {
			case err != nil && reject != nil:
				reject(err)
			case err == nil && apply != nil:
				apply(snap)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
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
