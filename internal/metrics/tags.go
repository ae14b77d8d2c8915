package metrics

import (
	"slices"
	"strconv"
	"strings"
)

// Tags in a stat's name follow gostats' serialization
// (internal/tags/tags.go in github.com/lyft/gostats): the name, then
// ".__key=value" per tag, sorted by key, with '.', ':' and '|' in values
// turned into '_'. Plain statsd receives them so, as envoyproxy/ratelimit
// sends EXTRA_TAGS; the DogStatsD sink splits them back into tags.
const (
	tagPrefix = ".__"
	tagSep    = "="
)

// TagSuffix is what gostats appends to a stat's name for tags: empty for
// none; pairs with an empty key or value are left out, as gostats does.
func TagSuffix(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k, v := range tags {
		if k != "" && v != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(tagPrefix)
		b.WriteString(k)
		b.WriteString(tagSep)
		b.WriteString(tagValueReplacer.Replace(tags[k]))
	}
	return b.String()
}

var tagValueReplacer = strings.NewReplacer(".", "_", ":", "_", "|", "_")

// SplitTags separates a serialized stat name into its name and its tags as
// DogStatsD writes them ("key:value"), as envoyproxy/ratelimit's
// DogStatsD sink does (src/godogstats/dogstatsd_sink.go, separateTags).
func SplitTags(serialized string) (string, []string) {
	name, rest, ok := strings.Cut(serialized, tagPrefix)
	if !ok {
		return serialized, nil
	}
	var tags []string
	for _, pair := range strings.Split(rest, tagPrefix) {
		if k, v, ok := strings.Cut(pair, tagSep); ok {
			tags = append(tags, k+":"+v)
		}
	}
	return name, tags
}

// ParseTags reads tags written "k1:v1,k2:v2", as envoyproxy/ratelimit's
// EXTRA_TAGS is.
func ParseTags(s string) (map[string]string, error) {
	tags := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, ":")
		if !ok || k == "" || v == "" {
			return nil, &tagError{pair}
		}
		tags[k] = v
	}
	return tags, nil
}

type tagError struct{ pair string }

func (e *tagError) Error() string {
	return "tag " + strconv.Quote(e.pair) + ": want key:value"
}
