package rlqs_test

import (
	"testing"
	"time"
)

// A token bucket's tokens belong to the window they were debited from: when
// it ends, the server replaces the bucket at once, without waiting for the
// client's next report, so that Envoy cannot spend them in the next window.
func TestWindowEndReplacesTheTokenBucket(t *testing.T) {
	c := startCluster(t, 1)
	_, conn := rlqsOn(t, c, 0, nil)
	// Reports every 30s: none comes after the first within the test.
	cl := newEnvoyClient(t, conn, "edge", 30*time.Second)
	bronze := map[string]string{"tenant": "bronze", "name": "per-tenant"}
	// The first request reports the bucket alone and is denied; make sure
	// the window it lands in has time left to spend what is assigned.
	if time.Until(time.Now().Truncate(time.Second).Add(time.Second)) < 300*time.Millisecond {
		time.Sleep(400 * time.Millisecond)
	}
	cl.request(bronze)
	waitFor(t, "a token bucket", func() bool {
		b := cl.bucket(bronze)
		return b != nil && b.assignedTokenBucket == 1
	})
	first := cl.bucket(bronze)
	end := first.filled.Truncate(time.Second).Add(time.Second)
	if first.tokens < 1 {
		t.Fatalf("the first token bucket holds %v tokens", first.tokens)
	}
	waitFor(t, "the token bucket replaced after its window", func() bool {
		b := cl.bucket(bronze)
		return b.received > first.received
	})
	b := cl.bucket(bronze)
	if b.receivedAt.Before(end) {
		t.Fatalf("replaced at %s, before its window ended at %s", b.receivedAt.Format(time.StampMilli), end.Format(time.StampMilli))
	}
	if b.tb == first.tb {
		t.Fatal("the new window kept the last window's token bucket")
	}
	if b.lastReport != first.lastReport {
		t.Fatal("the client reported again: the replacement must not wait for a report")
	}
	// The bucket it has now holds only the new window's tokens, if any:
	// a fresh bucket, or none (DENY_ALL until the engines grant).
	if b.tb != nil && b.tokens != b.max {
		t.Fatalf("the new token bucket holds %v of %v", b.tokens, b.max)
	}
}
