// Package metrics exposes Floodgate's gostats over Prometheus' text format
// and fans flushes out to several sinks (statsd and Prometheus together).
package metrics

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	gostats "github.com/lyft/gostats"
)

// PrometheusSink keeps the running value of every stat the store flushes
// and serves it at /metrics. gostats flushes counter deltas, so counters
// are summed here; gauges keep their last value; timers are served as a
// count and a sum.
type PrometheusSink struct {
	mu       sync.Mutex
	counters map[string]uint64
	gauges   map[string]uint64
	timers   map[string]*timer
}

type timer struct {
	count uint64
	sum   float64
}

// NewPrometheusSink returns an empty sink.
func NewPrometheusSink() *PrometheusSink {
	return &PrometheusSink{
		counters: map[string]uint64{},
		gauges:   map[string]uint64{},
		timers:   map[string]*timer{},
	}
}

func (p *PrometheusSink) FlushCounter(name string, value uint64) {
	p.mu.Lock()
	p.counters[promName(name)] += value
	p.mu.Unlock()
}

func (p *PrometheusSink) FlushGauge(name string, value uint64) {
	p.mu.Lock()
	p.gauges[promName(name)] = value
	p.mu.Unlock()
}

func (p *PrometheusSink) FlushTimer(name string, value float64) {
	p.mu.Lock()
	t := p.timers[promName(name)]
	if t == nil {
		t = &timer{}
		p.timers[promName(name)] = t
	}
	t.count++
	t.sum += value
	p.mu.Unlock()
}

func (p *PrometheusSink) Flush() {}

// Forget drops the series of names, freed by a ValueStats: a sink that
// kept every name it was ever sent would grow with request values.
func (p *PrometheusSink) Forget(names ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range names {
		n = promName(n)
		delete(p.counters, n)
		delete(p.gauges, n)
		delete(p.timers, n)
	}
}

// Write writes every stat in Prometheus' text exposition format, sorted.
func (p *PrometheusSink) Write(w io.Writer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range sortedKeys(p.counters) {
		fmt.Fprintf(w, "# TYPE %s counter\n%s %d\n", n, n, p.counters[n])
	}
	for _, n := range sortedKeys(p.gauges) {
		fmt.Fprintf(w, "# TYPE %s gauge\n%s %d\n", n, n, p.gauges[n])
	}
	for _, n := range sortedKeys(p.timers) {
		t := p.timers[n]
		fmt.Fprintf(w, "# TYPE %s summary\n%s_count %d\n%s_sum %g\n", n, n, t.count, n, t.sum)
	}
}

// Handler serves /metrics; flush makes the store push its latest values
// into the sink first, so a scrape is never a flush interval behind.
func (p *PrometheusSink) Handler(flush func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if flush != nil {
			flush()
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		p.Write(w)
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// promName maps a dotted gostats name to a valid Prometheus metric name.
func promName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r == ':':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Fanout flushes to every sink.
type Fanout []gostats.FlushableSink

func (f Fanout) FlushCounter(name string, v uint64) {
	for _, s := range f {
		s.FlushCounter(name, v)
	}
}

func (f Fanout) FlushGauge(name string, v uint64) {
	for _, s := range f {
		s.FlushGauge(name, v)
	}
}

func (f Fanout) FlushTimer(name string, v float64) {
	for _, s := range f {
		s.FlushTimer(name, v)
	}
}

// Forget forwards to every sink that holds series.
func (f Fanout) Forget(names ...string) {
	for _, s := range f {
		if g, ok := s.(Forgetter); ok {
			g.Forget(names...)
		}
	}
}

func (f Fanout) Flush() {
	for _, s := range f {
		s.Flush()
	}
}
