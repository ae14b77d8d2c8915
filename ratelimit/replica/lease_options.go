package replica

import (
	"fmt"
	"strings"
	"time"
)

// Mode is how the async limiter admits.
type Mode uint8

const (
	// ModeLease admits only by spending tokens engines granted ahead
	// (escrowed leases): admitted ≤ (1+OverdraftRatio)·limit per window.
	ModeLease Mode = iota
	// ModeReport admits from the decision cache and reports hits after:
	// no grants to wait for, but over-admission grows with rate × delay.
	ModeReport
)

// ParseMode reads "lease" or "report".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(s) {
	case "", "lease":
		return ModeLease, nil
	case "report":
		return ModeReport, nil
	}
	return 0, fmt.Errorf("async mode %q: want lease or report", s)
}

func (m Mode) String() string {
	if m == ModeReport {
		return "report"
	}
	return "lease"
}

// LeaseOptions configures the lease mode.
type LeaseOptions struct {
	// Horizon is how long a grant should last at the key's recent rate;
	// 100ms when zero.
	Horizon time.Duration
	// Wait bounds how long a request that finds no tokens waits for a grant
	// before the engine-down fallback answers it; 50ms when zero.
	Wait time.Duration
	// OverdraftRatio is ε: a replica admits up to ⌊ε·limit/replicas⌋ of a
	// cold key before its first grant, charged to the key afterwards.
	// Negative disables overdrafts; 0.005 when zero.
	OverdraftRatio float64
	// MaxReplicas is N in the overdraft; when zero the engines' count of
	// active replicas.
	MaxReplicas int
	// MaxLeases and MaxBytes bound the lease table; 1<<20 and 256 MiB when
	// zero.
	MaxLeases, MaxBytes int
	// MaxQueued bounds the asks waiting to be sent; 65536 when zero.
	MaxQueued int
}

func (o LeaseOptions) withDefaults() LeaseOptions {
	if o.Horizon <= 0 {
		o.Horizon = 100 * time.Millisecond
	}
	if o.Wait <= 0 {
		o.Wait = 50 * time.Millisecond
	}
	if o.OverdraftRatio == 0 {
		o.OverdraftRatio = 0.005
	}
	if o.MaxLeases <= 0 {
		o.MaxLeases = 1 << 20
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 256 << 20
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 65536
	}
	return o
}
