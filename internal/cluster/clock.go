package cluster

import (
	"sync/atomic"
	"time"
)

// Clock is a clock that moves only when told to. Give its Now to
// Options.Now: every component then sees the same instant, and a test
// crosses a window boundary by Advance instead of sleeping to it.
type Clock struct {
	nanos atomic.Int64
}

// NewClock returns a Clock stopped at t.
func NewClock(t time.Time) *Clock {
	c := &Clock{}
	c.nanos.Store(t.UnixNano())
	return c
}

// Now is the clock's current instant.
func (c *Clock) Now() time.Time { return time.Unix(0, c.nanos.Load()) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.nanos.Add(int64(d)) }
