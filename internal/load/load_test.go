package load

import (
	"context"
	"testing"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
)

var entries = []*ratelimitv3.RateLimitDescriptor_Entry{{Key: "k", Value: "v"}}

func TestClosedLoopCountsEveryRequest(t *testing.T) {
	addr, stop, err := StartBaseline("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	res, err := Run(context.Background(), Options{Addr: addr, Conns: 2, Workers: 4, Count: 500,
		Domain: "d", Entries: entries, Keys: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 500 || res.Errors != 0 || res.Latency.Count() != 500 {
		t.Fatalf("requests %d errors %d samples %d, want 500/0/500 (%v)", res.Requests, res.Errors, res.Latency.Count(), res.FirstErr)
	}
}

func TestOpenLoopKeepsItsRate(t *testing.T) {
	addr, stop, err := StartBaseline("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	res, err := Run(context.Background(), Options{Addr: addr, Workers: 8, Rate: 1000, Duration: 500 * time.Millisecond,
		Domain: "d", Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	// 1000/s for half a second: about 500 starts, answered or missed.
	if got := res.Requests + res.Missed; got < 300 || got > 700 {
		t.Fatalf("open loop at 1000/s for 0.5s made %d starts", got)
	}
}

func TestErrorsAreCounted(t *testing.T) {
	addr, stop, err := StartBaseline("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop() // nothing listens any more
	res, err := Run(context.Background(), Options{Addr: addr, Workers: 2, Count: 10, Timeout: 100 * time.Millisecond,
		Domain: "d", Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 10 || res.Requests != 0 || res.FirstErr == nil {
		t.Fatalf("against a dead server: %d errors, %d answers", res.Errors, res.Requests)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	for _, o := range []Options{
		{Domain: "d", Entries: entries, Count: 1},
		{Addr: "x", Domain: "d", Entries: entries},
		{Addr: "x", Count: 1},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("Run(%+v) accepted", o)
		}
	}
}
