package main

import (
	"regexp"
	"strings"
)

// urlListFlag is a flag of URLs that may be repeated; a value may also hold
// several comma-separated URLs. A comma splits URLs only where a scheme
// ("xxx://") follows it, so the host list of one Sentinel or Cluster URL
// (redis+sentinel://h1:26379,h2:26379/master) stays in that URL.
type urlListFlag []string

func (l *urlListFlag) String() string { return strings.Join(*l, ",") }

func (l *urlListFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// urlStart matches a comma and the scheme of the URL it starts.
var urlStart = regexp.MustCompile(`,\s*[A-Za-z][A-Za-z0-9+.-]*://`)

// urls splits every value into its URLs and drops empty ones.
func (l urlListFlag) urls() []string {
	var out []string
	for _, v := range l {
		start := 0
		for _, m := range urlStart.FindAllStringIndex(v, -1) {
			out = appendTrimmed(out, v[start:m[0]])
			start = m[0] + 1
		}
		out = appendTrimmed(out, v[start:])
	}
	return out
}

func appendTrimmed(out []string, s string) []string {
	if s = strings.Trim(strings.TrimSpace(s), ","); s != "" {
		out = append(out, s)
	}
	return out
}
