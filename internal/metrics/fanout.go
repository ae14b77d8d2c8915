package metrics

import gostats "github.com/lyft/gostats"

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
