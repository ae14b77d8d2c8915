package decisions

// The engine's maps are bounded in bytes as well as keys: a key is at most
// policy.MaxPlainKey long, but a budget in keys alone would still let large
// keys take many times the memory the operator planned for.

// pendingBytes is what a pending key holds: its key, its domain, the
// pendingHit and the map slot.
func pendingBytes(key, domain string) int { return len(key) + len(domain) + 128 }

// reservePending reports whether one more pending key, of cost bytes, fits
// MaxPendingKeys and MaxPendingBytes, and counts its bytes if it does.
// Caller holds mu.
func (e *Engine) reservePending(cost int) bool {
	if len(e.pending) >= e.o.MaxPendingKeys || e.pendingBytes+cost > e.o.MaxPendingBytes {
		return false
	}
	e.pendingBytes += cost
	return true
}

// throttledBytes is what a recorded throttle holds: its key, its domain,
// the Decision and the map slot.
func throttledBytes(d *Decision) int { return len(d.Key) + len(d.Domain) + 192 }

// recordThrottle keeps d until its window ends, so that the engine neither
// publishes it again nor forgets to release it. Over MaxThrottledBytes it
// forgets others: a forgotten one is published again if its
// key is still hit (decisions are idempotent) and expires by itself at
// replicas without a release. Caller holds flushMu.
func (e *Engine) recordThrottle(d Decision) {
	cost := throttledBytes(&d)
	if old, ok := e.throttled[d.Key]; ok {
		e.throttledBytes -= throttledBytes(&old)
	}
	for k, old := range e.throttled {
		if e.throttledBytes+cost <= e.o.MaxThrottledBytes {
			break
		}
		if k == d.Key {
			continue
		}
		delete(e.throttled, k)
		e.throttledBytes -= throttledBytes(&old)
		e.st.throttledEvicted.Inc()
	}
	e.throttled[d.Key] = d
	e.throttledBytes += cost
}

// forgetThrottle drops a throttle whose window has ended. Caller holds
// flushMu.
func (e *Engine) forgetThrottle(k string, d *Decision) {
	delete(e.throttled, k)
	e.throttledBytes -= throttledBytes(d)
}

// PendingBytes and ThrottledBytes are what the engine's maps hold, as
// MaxPendingBytes and MaxThrottledBytes count them.
func (e *Engine) PendingBytes() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pendingBytes
}

// ThrottledBytes: see PendingBytes.
func (e *Engine) ThrottledBytes() int {
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	return e.throttledBytes
}
