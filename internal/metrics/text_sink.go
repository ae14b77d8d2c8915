package metrics

import (
	"fmt"
	"io"
	"slices"
	"sync"
)

// TextSink keeps the running value of every stat under its own name, for
// a debug listener's /stats: one "name: value" line per stat, sorted, as
// envoyproxy/ratelimit's /stats prints its variables. Counters are summed
// from gostats' deltas, gauges keep their last value, timers their count
// and sum.
type TextSink struct {
	mu       sync.Mutex
	counters map[string]uint64
	gauges   map[string]uint64
	timers   map[string]*timer
}

type timer struct {
	count uint64
	sum   float64
}

// NewTextSink returns an empty sink.
func NewTextSink() *TextSink {
	return &TextSink{counters: map[string]uint64{}, gauges: map[string]uint64{}, timers: map[string]*timer{}}
}

func (s *TextSink) FlushCounter(name string, value uint64) {
	s.mu.Lock()
	s.counters[name] += value
	s.mu.Unlock()
}

func (s *TextSink) FlushGauge(name string, value uint64) {
	s.mu.Lock()
	s.gauges[name] = value
	s.mu.Unlock()
}

func (s *TextSink) FlushTimer(name string, value float64) {
	s.mu.Lock()
	t := s.timers[name]
	if t == nil {
		t = &timer{}
		s.timers[name] = t
	}
	t.count++
	t.sum += value
	s.mu.Unlock()
}

func (s *TextSink) Flush() {}

// Forget drops names freed by a ValueStats, as the Bridge does.
func (s *TextSink) Forget(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		delete(s.counters, n)
		delete(s.gauges, n)
		delete(s.timers, n)
	}
}

// Write writes every stat as "name: value", counters and gauges together
// in name order, then timers as "name: count=N sum=S".
func (s *TextSink) Write(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	values := make(map[string]uint64, len(s.counters)+len(s.gauges))
	for n, v := range s.counters {
		values[n] = v
	}
	for n, v := range s.gauges {
		values[n] = v
	}
	for _, n := range sortedKeys(values) {
		fmt.Fprintf(w, "%s: %d\n", n, values[n])
	}
	for _, n := range sortedKeys(s.timers) {
		fmt.Fprintf(w, "%s: count=%d sum=%g\n", n, s.timers[n].count, s.timers[n].sum)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
