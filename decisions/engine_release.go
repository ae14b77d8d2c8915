package decisions

// withinCap refuses the Throttled decisions of ds that would take the
// decisions this engine has in force past MaxDecisions. A flood of
// throttled keys (one per attacker-chosen value) must not grow the engine,
// the bus and every replica without bound; at the cap the engine still
// counts every hit, says so, and a refused key is decided again by its
// next hits once room frees up. Caller holds flushMu.
func (e *Engine) withinCap(ds []Decision) []Decision {
	room := e.o.MaxDecisions - e.release.len()
	kept := ds[:0]
	refused := 0
	for _, d := range ds {
		if d.State == Throttled {
			if room <= 0 {
				refused++
				continue
			}
			room--
		}
		kept = append(kept, d)
	}
	if refused > 0 {
		e.st.refusedAtCap.Add(uint64(refused))
		e.warn("decision cap reached: hits are still counted, but these keys are not throttled by decision",
			"refused", refused, "in_force", e.release.len(), "max_decisions", e.o.MaxDecisions)
	}
	return kept
}

// releases appends a Released decision for every throttled key whose window
// has ended. It pops only the throttles due, so a flush with nothing to
// release does no work however many are in force. Caller holds flushMu.
func (e *Engine) releases(ds []Decision) []Decision {
	nowUnix := e.now().Unix()
	popped := 0
	e.release.popDue(nowUnix, func(k string, end int64) {
		popped++
		d, ok := e.throttled[k]
		if !ok || d.WindowEnd != end {
			return // forgotten over the byte budget, or a later window's
		}
		e.forgetThrottle(k, &d)
		d.State, d.Seq = Released, e.seq.Add(1)
		ds = append(ds, d)
	})
	if popped > 0 {
		e.st.releaseChecked.Add(uint64(popped))
		e.st.inForce.Set(uint64(e.release.len()))
	}
	return ds
}
