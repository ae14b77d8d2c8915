package decisions

import (
	"strconv"
	"sync"
	"time"
)

// holderTTL is how long a replica counts as holding a key (and as active)
// after its last ask: long enough to span a few lease horizons, short
// enough that a replica gone quiet soon leaves the others a bigger share.
const holderTTL = 2 * time.Second

// holderTable learns from the lease stream which replicas are active, in
// all and per key, so that a grant can be capped at a share of what
// remains. It is bounded: past maxKeys a key's share is taken over all
// active replicas.
type holderTable struct {
	mu       sync.Mutex
	replicas map[string]int64 // holder → last ask, Unix nanoseconds
	keys     map[string]*keyHolders
	maxKeys  int
}

// keyHolders are the replicas that asked for one key's window lately.
type keyHolders struct {
	windowEnd int64 // Unix seconds; the entry goes with its window
	ids       []string
	seen      []int64
	// total is the most this engine saw the window's granted count at: a
	// store that lost the count starts it again from there (or from what
	// the asking replica saw, if more).
	total uint64
}

func newHolderTable(maxKeys int) *holderTable {
	return &holderTable{replicas: make(map[string]int64), keys: make(map[string]*keyHolders), maxKeys: maxKeys}
}

func holderID(replica string, incarnation uint64) string {
	return replica + "#" + strconv.FormatUint(incarnation, 36)
}

// touchReplica records an ask from holder and returns the replicas active
// now, holder included.
func (t *holderTable) touchReplica(holder string, now int64) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.replicas[holder] = now
	return len(t.replicas)
}

// prune forgets the replicas and keys not asked for within holderTTL, and
// the keys whose window has ended. The engine's flush goroutine calls it
// every holderTTL, so that no grant waits on a walk over every key.
func (t *holderTable) prune(now int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, seen := range t.replicas {
		if now-seen > int64(holderTTL) {
			delete(t.replicas, id)
		}
	}
	for k, h := range t.keys {
		if h.windowEnd*int64(time.Second) <= now || now-maxSeen(h.seen) > int64(holderTTL) {
			delete(t.keys, k)
		}
	}
}

// touchKey records holder's ask for key and returns how many replicas
// asked for it lately, holder included, and the most this engine saw its
// granted count at.
func (t *holderTable) touchKey(key, holder string, now, windowEnd int64) (holders int, total uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.keys[key]
	if h == nil {
		if len(t.keys) >= t.maxKeys {
			return max(1, len(t.replicas)), 0
		}
		h = &keyHolders{windowEnd: windowEnd}
		t.keys[key] = h
	}
	n, found := 0, false
	for i, id := range h.ids {
		if id == holder {
			h.seen[i], found = now, true
		}
		if now-h.seen[i] <= int64(holderTTL) {
			n++
		}
	}
	if !found {
		h.ids = append(h.ids, holder)
		h.seen = append(h.seen, now)
		n++
	}
	return n, h.total
}

// noteTotal records a granted count the store answered for key.
func (t *holderTable) noteTotal(key string, total uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if h := t.keys[key]; h != nil {
		h.total = max(h.total, total)
	}
}

func maxSeen(s []int64) int64 {
	var m int64
	for _, v := range s {
		m = max(m, v)
	}
	return m
}
