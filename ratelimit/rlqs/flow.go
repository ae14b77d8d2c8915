package rlqs

// FlowCount is one running total of the server's traffic.
type FlowCount struct {
	Name  string
	Value uint64
}

// Flow returns the server's traffic since it started, for people to look
// at (the dashboard shows its rates): Envoy streams and buckets, usage
// reported, and the lease tokens that went to Envoys and came back. It is
// read from the server's stats, so it is zero when those are discarded.
func (s *Server) Flow() []FlowCount {
	return []FlowCount{
		{"rlqs streams", s.st.streams.Value()},
		{"rlqs buckets", s.st.buckets.Value()},
		{"rlqs requests allowed", s.st.allowed.Value()},
		{"rlqs requests denied", s.st.denied.Value()},
		{"rlqs token buckets", s.st.tokenBuckets.Value()},
		{"rlqs tokens assigned", s.st.tokensAssigned.Value()},
		{"rlqs tokens returned", s.st.tokensReturned.Value()},
		{"rlqs tokens charged", s.st.tokensCharged.Value()},
	}
}
