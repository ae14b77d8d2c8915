package metrics

import (
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// promFamily is one Prometheus metric family: its series by label values,
// at most max of them, the rest counted in the overflow series.
type promFamily struct {
	kind       statKind
	valueType  prometheus.ValueType
	labelNames []string
	desc       *prometheus.Desc
	max        int
	zero       bool

	mu       sync.Mutex
	series   map[string]*promSeries
	overflow *promSeries
}

type promSeries struct {
	values  []string
	value   float64  // a counter's sum, a gauge's value
	buckets []uint64 // a histogram's per-bound counts (not cumulative)
	count   uint64
	sum     float64
}

func newPromFamily(r promRule, labelNames []string, max int) *promFamily {
	f := &promFamily{kind: r.kind, labelNames: labelNames, max: max, zero: r.zero && len(labelNames) == 0,
		desc:   prometheus.NewDesc(r.family, r.help, labelNames, nil),
		series: map[string]*promSeries{}}
	switch {
	case r.kind == gaugeStat:
		f.valueType = prometheus.GaugeValue
	case r.untyped:
		f.valueType = prometheus.UntypedValue
	default:
		f.valueType = prometheus.CounterValue
	}
	other := make([]string, len(labelNames))
	for i := range other {
		other[i] = otherLabel
	}
	f.overflow = &promSeries{values: other}
	return f
}

// get returns t's series, made if there is room, else the overflow
// series; f.mu is held.
func (f *promFamily) get(t *promTarget) *promSeries {
	if s := f.series[t.key]; s != nil {
		return s
	}
	if len(f.series) >= f.max {
		return f.overflow
	}
	s := &promSeries{values: t.values}
	if f.kind == timerStat {
		s.buckets = make([]uint64, len(responseBuckets))
	}
	f.series[t.key] = s
	return s
}

func (f *promFamily) add(t *promTarget, v float64) {
	f.mu.Lock()
	f.get(t).value += v
	f.mu.Unlock()
}

func (f *promFamily) set(t *promTarget, v float64) {
	f.mu.Lock()
	f.get(t).value = v
	f.mu.Unlock()
}

func (f *promFamily) observe(t *promTarget, v float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.get(t)
	if s.buckets == nil {
		s.buckets = make([]uint64, len(responseBuckets))
	}
	s.count++
	s.sum += v
	if i := sort.SearchFloat64s(responseBuckets, v); i < len(responseBuckets) {
		s.buckets[i]++
	}
}

func (f *promFamily) forget(t *promTarget) {
	f.mu.Lock()
	delete(f.series, t.key)
	f.mu.Unlock()
}

func (f *promFamily) collect(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.zero && len(f.series) == 0 {
		ch <- prometheus.MustNewConstMetric(f.desc, f.valueType, 0)
	}
	for _, s := range f.series {
		f.send(ch, s)
	}
	if f.overflow.count > 0 || f.overflow.value != 0 {
		f.send(ch, f.overflow)
	}
}

func (f *promFamily) send(ch chan<- prometheus.Metric, s *promSeries) {
	if f.kind != timerStat {
		ch <- prometheus.MustNewConstMetric(f.desc, f.valueType, s.value, s.values...)
		return
	}
	cumulative := make(map[float64]uint64, len(responseBuckets))
	var n uint64
	for i, b := range responseBuckets {
		n += s.buckets[i]
		cumulative[b] = n
	}
	ch <- prometheus.MustNewConstHistogram(f.desc, s.count, s.sum, cumulative, s.values...)
}
