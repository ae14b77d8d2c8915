package policy

import "strings"

// Algorithm is how a limit counts. The zero value is the fixed window, the
// only algorithm of envoyproxy/ratelimit.
type Algorithm uint8

const (
	// FixedWindow counts hits per epoch-aligned window.
	FixedWindow Algorithm = iota
	// SlidingWindow estimates the count over the last window length from
	// the current and the previous fixed window.
	SlidingWindow
	// TokenBucket is GCRA: RequestsPerUnit tokens per unit, at most Burst
	// at once.
	TokenBucket
)

var algorithmNames = [...]string{"fixed_window", "sliding_window", "token_bucket"}

const algorithmChoices = "fixed_window, sliding_window or token_bucket"

// String is the name the YAML format uses.
func (a Algorithm) String() string {
	if int(a) < len(algorithmNames) {
		return algorithmNames[a]
	}
	return "unknown"
}

// ParseAlgorithm reads an algorithm name, case-insensitively; "" is the
// fixed window.
func ParseAlgorithm(s string) (Algorithm, bool) {
	if s == "" {
		return FixedWindow, true
	}
	for i, n := range algorithmNames {
		if strings.EqualFold(s, n) {
			return Algorithm(i), true
		}
	}
	return FixedWindow, false
}

// WindowSeconds is the length of a window of multiplier units (0 and 1 both
// mean one unit). The RLS, the replicas and the engine all size windows
// here, through Limit.WindowSeconds and Resolved.WindowSeconds.
func WindowSeconds(u Unit, multiplier uint32) int64 {
	return u.Seconds() * int64(max(multiplier, 1))
}

// WindowStartOf is the start (Unix seconds) of the window of multiplier
// units that holds nowUnix. Windows of N units are aligned to the epoch, as
// one-unit windows are: every process computes the same boundaries without
// agreeing on anything.
func WindowStartOf(u Unit, multiplier uint32, nowUnix int64) int64 {
	d := WindowSeconds(u, multiplier)
	if d == 0 {
		return nowUnix
	}
	return nowUnix / d * d
}
