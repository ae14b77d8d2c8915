package ratelimit

import (
	"fmt"
	"strings"
)

// StoreDown is what exact mode answers while its counter store does not
// answer (its breaker open, or the failures that open it).
type StoreDown uint8

const (
	// StoreDownAllow admits: what envoyproxy/ratelimit's error becomes
	// behind Envoy's default failure_mode_deny: false, but at once.
	StoreDownAllow StoreDown = iota
	// StoreDownDeny answers OVER_LIMIT: Envoy's failure_mode_deny: true.
	StoreDownDeny
	// StoreDownLocal counts in the replica's own process, each limit
	// divided by the replicas sharing the store.
	StoreDownLocal
)

var storeDownNames = []string{"allow", "deny", "local"}

func (d StoreDown) String() string {
	if int(d) < len(storeDownNames) {
		return storeDownNames[d]
	}
	return fmt.Sprintf("StoreDown(%d)", d)
}

// Set parses allow, deny or local (flag.Value).
func (d *StoreDown) Set(s string) error {
	for i, n := range storeDownNames {
		if s == n {
			*d = StoreDown(i)
			return nil
		}
	}
	return fmt.Errorf("%q: want %s", s, strings.Join(storeDownNames, ", "))
}
