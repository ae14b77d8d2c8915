package decisions

import "container/heap"

// expiryQueue orders keys by the end of their window, so that finding what
// has expired touches only what has, however many keys are in force: a
// flood of throttled keys must not cost work every second while nothing
// changes. An entry may be stale (its key released, or republished with
// another window end): the caller checks each popped key against its own
// map.
type expiryQueue struct{ h expiryHeap }

type expiring struct {
	key string
	end int64 // Unix seconds
}

// push adds key, due at end.
func (q *expiryQueue) push(key string, end int64) { heap.Push(&q.h, expiring{key, end}) }

// popDue removes every entry due at or before now, oldest first, and calls
// due with each.
func (q *expiryQueue) popDue(now int64, due func(key string, end int64)) {
	for len(q.h) > 0 && q.h[0].end <= now {
		x := heap.Pop(&q.h).(expiring)
		due(x.key, x.end)
	}
}

// len is the number of entries, stale ones included.
func (q *expiryQueue) len() int { return len(q.h) }

type expiryHeap []expiring

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].end < h[j].end }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiring)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = expiring{} // let the key's string be collected
	*h = old[:len(old)-1]
	return x
}
