package metrics

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// otherLabel is every label's value in a family's overflow series.
const otherLabel = "other"

// BridgeOptions configure a Bridge.
type BridgeOptions struct {
	// MaxSeries is how many label sets one family holds; a new one past
	// it is counted in the family's series whose labels are all "other".
	// 10 000 when zero.
	MaxSeries int
	// TagKeys are the keys of --stats-extra-tags: labels of the
	// envoyproxy/ratelimit families.
	TagKeys []string
}

func (o BridgeOptions) withDefaults() BridgeOptions {
	if o.MaxSeries <= 0 {
		o.MaxSeries = 10_000
	}
	return o
}

// Bridge is a gostats sink that keeps what it is flushed as labelled
// Prometheus series, named by promRules, and a prometheus.Collector that
// exposes them. gostats flushes counter deltas, summed here; gauges keep
// their last value; timers are observed in a histogram as they come.
type Bridge struct {
	o        BridgeOptions
	families map[string]*promFamily // by family name
	rules    []compiledRule
	targets  sync.Map // gostats name -> *promTarget, nil when dropped
}

type compiledRule struct {
	promRule
	pattern []string
	labels  []labelSpec
	fam     *promFamily
}

// promTarget is where one gostats name goes: a family and label values.
type promTarget struct {
	fam    *promFamily
	values []string
	key    string
	scale  float64
}

// NewBridge returns an empty Bridge over promRules.
func NewBridge(o BridgeOptions) *Bridge {
	o = o.withDefaults()
	b := &Bridge{o: o, families: map[string]*promFamily{}}
	tagKeys := slices.Sorted(slices.Values(o.TagKeys))
	for _, r := range promRules {
		labels, err := parseLabels(r.labels)
		if err != nil {
			panic(fmt.Sprintf("metrics rule %s: %v", r.pattern, err))
		}
		c := compiledRule{promRule: r, pattern: strings.Split(r.pattern, "."), labels: labels}
		if r.family != "" {
			c.fam = b.family(r, labels, tagKeys)
		}
		b.rules = append(b.rules, c)
	}
	return b
}

// family returns the family r names, made on its first rule; every rule
// of a family must give the same labels.
func (b *Bridge) family(r promRule, labels []labelSpec, tagKeys []string) *promFamily {
	var names []string
	for _, l := range labels {
		names = append(names, l.name)
	}
	if r.tagged {
		names = append(names, tagKeys...)
	}
	if f := b.families[r.family]; f != nil {
		if !slices.Equal(f.labelNames, names) || f.kind != r.kind {
			panic(fmt.Sprintf("metrics rule %s: family %s has labels %v, not %v", r.pattern, r.family, f.labelNames, names))
		}
		return f
	}
	f := newPromFamily(r, names, b.o.MaxSeries)
	b.families[r.family] = f
	return f
}

func (b *Bridge) FlushCounter(name string, v uint64) {
	if t := b.target(name, counterStat); t != nil {
		t.fam.add(t, float64(v)*t.scale)
	}
}

func (b *Bridge) FlushGauge(name string, v uint64) {
	if t := b.target(name, gaugeStat); t != nil {
		t.fam.set(t, float64(v)*t.scale)
	}
}

func (b *Bridge) FlushTimer(name string, v float64) {
	if t := b.target(name, timerStat); t != nil {
		t.fam.observe(t, v*t.scale)
	}
}

func (b *Bridge) Flush() {}

// Forget drops the series of names freed by a ValueStats.
func (b *Bridge) Forget(names ...string) {
	for _, n := range names {
		for _, kind := range []statKind{counterStat, gaugeStat, timerStat} {
			if t := b.target(n, kind); t != nil {
				t.fam.forget(t)
			}
		}
		b.targets.Delete(targetKey{n, counterStat})
		b.targets.Delete(targetKey{n, gaugeStat})
		b.targets.Delete(targetKey{n, timerStat})
	}
}

type targetKey struct {
	name string
	kind statKind
}

// target maps a gostats name once; later flushes of it find the result.
func (b *Bridge) target(name string, kind statKind) *promTarget {
	k := targetKey{name, kind}
	if t, ok := b.targets.Load(k); ok {
		return t.(*promTarget)
	}
	t := b.resolve(name, kind)
	b.targets.Store(k, t)
	return t
}

func (b *Bridge) resolve(serialized string, kind statKind) *promTarget {
	name, tags := splitTagPairs(serialized)
	segs := strings.Split(name, ".")
	for _, r := range b.rules {
		if r.kind != kind {
			continue
		}
		caps, ok := matchPattern(r.pattern, segs)
		if !ok {
			continue
		}
		if r.fam == nil {
			return nil
		}
		values := make([]string, 0, len(r.fam.labelNames))
		for _, l := range r.labels {
			v := l.fixed
			if l.capture > 0 && l.capture <= len(caps) {
				v = caps[l.capture-1]
			}
			values = append(values, v)
		}
		for _, k := range r.fam.labelNames[len(r.labels):] {
			values = append(values, tags[k])
		}
		scale := r.scale
		if scale == 0 {
			scale = 1
		}
		return &promTarget{fam: r.fam, values: values, key: strings.Join(values, "\xff"), scale: scale}
	}
	return nil
}

// splitTagPairs separates gostats' serialized tags (".__k=v") from a name.
func splitTagPairs(serialized string) (string, map[string]string) {
	name, rest, ok := strings.Cut(serialized, tagPrefix)
	if !ok {
		return serialized, nil
	}
	tags := map[string]string{}
	for _, pair := range strings.Split(rest, tagPrefix) {
		if k, v, ok := strings.Cut(pair, tagSep); ok {
			tags[k] = v
		}
	}
	return name, tags
}

// Describe sends nothing: the families' label sets grow with use, so the
// Bridge is an unchecked collector.
func (b *Bridge) Describe(chan<- *prometheus.Desc) {}

// Collect sends every family's series.
func (b *Bridge) Collect(ch chan<- prometheus.Metric) {
	for _, f := range b.families {
		f.collect(ch)
	}
}
