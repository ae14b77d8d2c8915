package faults

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
)

// How long each phase of a case lasts: enough for leases to be in full use
// before the fault, and for the deployment to be seen through it and after.
const (
	beforeFor = 600 * time.Millisecond
	faultFor  = 800 * time.Millisecond
	afterFor  = 500 * time.Millisecond
	// recoveryGuard bounds the wait for a deployment to recover by itself:
	// it only runs out when it does not.
	recoveryGuard = 20 * time.Second
)

// asyncCase is a fault under load on the default mode, escrowed leases.
type asyncCase struct {
	name string
	opts options
	// load are the replicas loaded; every one when empty.
	load []int
	// fault breaks the deployment; heal ends the fault, nil when it ends
	// by itself.
	fault, heal func(t *testing.T, d *deployment)
	// bound is what the window may admit of the wide key, given what was
	// admitted before the fault: the lease bound when nil.
	bound func(before int) int
	// countsLost: the counter store lost writes (restarted empty, failed
	// over), so the count is restored rather than kept and may trail what
	// was admitted by the grants of the fault's last moments.
	countsLost bool
	// recovered is a further condition of recovery.
	recovered func(t *testing.T, d *deployment, value string) bool
}

// unique is a value no other case or run counts under.
func unique(prefix string) string { return prefix + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) }

// restartBound is the bound across a counter store that comes back empty
// or failed over (README "The counter store restarts empty", and the
// in-process TestLeasesRestoreTheCountWhenRedisRestarts): the count comes
// back ask by ask, so the first grants after it are made over a count
// that trails by the grants made to the other replica since its last,
// each capped by the engines at ⌈remaining / (2·N)⌉.
func restartBound(before int) int {
	return leaseBound(wideLimit) + (replicaCount-1)*((wideLimit-before+2*replicaCount-1)/(2*replicaCount))
}

func (c asyncCase) run(t *testing.T) {
	waitForWindow()
	d := deploy(t, c.opts)
	value := unique(c.name)
	l := startLoad(t, value, d.replicaAddrs(c.load...)...)
	time.Sleep(beforeFor)
	before := l.admitted(keyWide)
	l.enter(during)
	// The fault ends when its heal begins, so a restart's start-up is part
	// of the recovery; a fault that heals by itself ends as it strikes.
	healed := time.Now()
	c.fault(t, d)
	time.Sleep(faultFor)
	l.enter(after)
	if c.heal != nil {
		healed = time.Now()
		c.heal(t, d)
	}
	recovery := d.waitRecovered(t, healed, value, c.recovered)
	time.Sleep(afterFor)
	l.stop()

	admitted, smallAdmitted := l.admitted(keyWide), l.admitted(keySmall)
	granted := d.settledGranted("wide", value)
	bound := leaseBound(wideLimit)
	if c.bound != nil {
		bound = c.bound(before)
	}
	t.Logf("%s: sent %d, failed %d, timed out %d; wide admitted %d (%d before the fault) of %d, bound %d, %d granted; small admitted %d of %d; recovered in %v",
		c.name, l.sent.Load(), l.failed.Load(), l.timedOut.Load(), admitted, before, wideLimit, bound, granted,
		smallAdmitted, smallLimit, recovery)
	record(row{fault: c.name, sent: l.sent.Load(), failed: l.failed.Load(), timedOut: l.timedOut.Load(),
		admitted: admitted, limit: wideLimit, bound: bound, recovery: recovery,
		note: fmt.Sprintf("%d granted in the counter store", granted)})

	if n := l.failed.Load() + l.timedOut.Load(); n > 0 {
		t.Errorf("%d calls failed and %d ran past the %v deadline; first: %v", l.failed.Load(), l.timedOut.Load(), callDeadline, l.firstErr)
	}
	if admitted > bound {
		t.Errorf("admitted %d of the wide key's %d, over the bound %d", admitted, wideLimit, bound)
	}
	if smallAdmitted > leaseBound(smallLimit) {
		t.Errorf("admitted %d of the small key's %d, over the bound %d", smallAdmitted, smallLimit, leaseBound(smallLimit))
	}
	if n := l.ok(during, keySmall) + l.ok(after, keySmall); n > 0 && !c.countsLost {
		t.Errorf("the used-up small key admitted %d requests during or after the fault", n)
	}
	// Tokens are granted before they are spent: a count behind what was
	// admitted lost hits, unless the store itself lost them.
	if granted < admitted && !c.countsLost {
		t.Errorf("%d granted for %d admitted: %d hits lost", granted, admitted, admitted-granted)
	}
}

// waitRecovered waits until every engine and replica is healthy, every
// replica limits the used-up small key, counting works (a fresh key gets
// its first grant), and cond holds; it returns how long that took from
// since.
func (d *deployment) waitRecovered(t *testing.T, since time.Time, value string,
	cond func(t *testing.T, d *deployment, value string) bool) time.Duration {
	t.Helper()
	probe := unique("probe")
	for {
		if d.recovered(t, value, probe) && (cond == nil || cond(t, d, value)) {
			return time.Since(since)
		}
		if time.Since(since) > recoveryGuard {
			t.Fatalf("not recovered %v after the fault ended: healthy %v", recoveryGuard, d.healthy())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *deployment) recovered(t *testing.T, value, probe string) bool {
	if !d.healthy() {
		return false
	}
	for _, r := range d.replicas {
		if code, err := askOnce(r.grpc, "small", value); err != nil || code != rlsv3.RateLimitResponse_OVER_LIMIT {
			return false
		}
	}
	if code, err := askOnce(d.replicas[0].grpc, "wide", probe); err != nil || code != rlsv3.RateLimitResponse_OK {
		return false
	}
	n, err := d.count("wide", probe)
	return err == nil && n > 0
}
