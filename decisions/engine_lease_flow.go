package decisions

// FlowCount is one running total of the engine's lease traffic.
type FlowCount struct {
	Name  string
	Value uint64
}

// LeaseFlow returns the engine's lease traffic since it started, for
// people to look at (the dashboard shows its rates): read from the
// engine's own lease stats, so it is zero when those are discarded.
func (e *Engine) LeaseFlow() []FlowCount {
	return []FlowCount{
		{"lease grants", e.st.leaseGrants.Value()},
		{"tokens granted", e.st.leaseGranted.Value()},
		{"tokens used", e.st.leaseUsed.Value()},
		{"tokens returned", e.st.leaseReturned.Value()},
		{"tokens overdrawn", e.st.leaseCharged.Value()},
		{"lease streams", e.st.leaseStreams.Value()},
	}
}
