package policy

import (
	"fmt"
	"strings"
)

// KeyEncoding is how a counter key joins its parts.
type KeyEncoding uint8

const (
	// KeyCompat builds keys as envoyproxy/ratelimit does
	// ("domain_k1_v1_k2_v2_<window>"), so that both can share counters. It
	// is ambiguous: the descriptor (api_key=a_path_/x) and the descriptor
	// (api_key=a, path=/x) share one counter.
	KeyCompat KeyEncoding = iota
	// KeyUnambiguous writes every part with its length in front
	// ("3:api_7:api_key_1:a_<window>"), so that two different descriptors
	// never share a counter. New deployments use it.
	KeyUnambiguous
)

// ParseKeyEncoding reads "compat" or "unambiguous".
func ParseKeyEncoding(s string) (KeyEncoding, error) {
	switch strings.ToLower(s) {
	case "", "compat":
		return KeyCompat, nil
	case "unambiguous":
		return KeyUnambiguous, nil
	}
	return 0, fmt.Errorf("key encoding %q: want compat or unambiguous", s)
}

func (e KeyEncoding) String() string {
	if e == KeyUnambiguous {
		return "unambiguous"
	}
	return "compat"
}

// KeyFormat is how a process names counters. The RLS and the throttle
// engine must use the same Prefix and Encoding for a decision to name the
// counter a replica looks up.
type KeyFormat struct {
	// Prefix goes before every key.
	Prefix   string
	Encoding KeyEncoding
	// SeparateOverrides keys the counter of a descriptor that carries its
	// own limit by that limit and unit as well, so that an override's count
	// and decisions concern only the requests that carry it. The engine and
	// the async replica set it: their decisions are shared by every caller
	// of a key, and a caller's override of 0 must not throttle the others.
	// The exact RLS compares every caller's count with its own limit, so it
	// may count overrides under the descriptor's key as envoyproxy/ratelimit
	// does; with KeyUnambiguous overrides are always keyed apart.
	SeparateOverrides bool
}

func (f KeyFormat) overridesApart() bool {
	return f.SeparateOverrides || f.Encoding == KeyUnambiguous
}

// Set makes *KeyEncoding a flag.Value.
func (e *KeyEncoding) Set(s string) error {
	v, err := ParseKeyEncoding(s)
	if err != nil {
		return err
	}
	*e = v
	return nil
}
