package load

import (
	"context"
	"testing"
)

// Every target runs at every concurrency, each round adding to its row.
func TestSweepAlternatesTargetsAndMergesRounds(t *testing.T) {
	var targets []Target
	for _, name := range []string{"baseline", "other"} {
		addr, stop, err := StartBaseline("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		targets = append(targets, Target{Name: name, Addr: addr})
	}
	rows, err := Sweep(context.Background(), SweepOptions{Targets: targets, Workers: []int{1, 3}, Rounds: 2,
		Load: Options{Count: 50, Domain: "d", Entries: entries}})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		target  string
		workers int
	}{{"baseline", 1}, {"other", 1}, {"baseline", 3}, {"other", 3}}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		r := rows[i]
		if r.Target != w.target || r.Workers != w.workers || r.Result.Requests != 100 || r.Result.Errors != 0 {
			t.Errorf("row %d = %s/%d, %d requests, %d errors; want %s/%d, 100 requests over two rounds",
				i, r.Target, r.Workers, r.Result.Requests, r.Result.Errors, w.target, w.workers)
		}
	}
}

func TestSweepStopsAtAFailedRun(t *testing.T) {
	_, err := Sweep(context.Background(), SweepOptions{Targets: []Target{{Name: "x", Addr: "127.0.0.1:1"}},
		Workers: []int{1}, Load: Options{}})
	if err == nil {
		t.Fatal("a run without a descriptor did not fail the sweep")
	}
	if _, err := Sweep(context.Background(), SweepOptions{Workers: []int{1}}); err == nil {
		t.Fatal("a sweep without targets did not fail")
	}
}
