package decisions

import (
	"testing"
	"time"
)

func TestDecisionNewer(t *testing.T) {
	base := Decision{Key: "k", State: Throttled, WindowEnd: 100, Seq: 5}
	tests := []struct {
		name string
		d    Decision
		want bool
	}{
		{"same", base, false},
		{"higher seq", Decision{State: Throttled, WindowEnd: 100, Seq: 6}, true},
		{"lower seq", Decision{State: Throttled, WindowEnd: 100, Seq: 4}, false},
		{"later window", Decision{State: Throttled, WindowEnd: 101, Seq: 1}, true},
		{"earlier window", Decision{State: Throttled, WindowEnd: 99, Seq: 9}, false},
		{"release of the window, any engine", Decision{State: Released, WindowEnd: 100, Seq: 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.Newer(&base); got != tt.want {
				t.Errorf("Newer = %v, want %v", got, tt.want)
			}
		})
	}
	rel := Decision{State: Released, WindowEnd: 100, Seq: 1}
	if base.Newer(&rel) {
		t.Error("a throttle replaced the release of its own window")
	}
}

func TestDecisionMarshalRoundTrip(t *testing.T) {
	d := Decision{Domain: "api", Key: "api_user_alice_1700000000", State: Throttled,
		WindowEnd: 1700000001, Limit: 10, Count: 12, Engine: "e1", Seq: 42}
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != d {
		t.Errorf("round trip = %+v, want %+v", got, d)
	}
	for _, bad := range [][]byte{{0xff, 0xff}, nil} {
		if _, err := Unmarshal(bad); err == nil {
			t.Errorf("Unmarshal(%x) accepted", bad)
		}
	}
}

func TestDecisionExpired(t *testing.T) {
	d := Decision{WindowEnd: 100}
	if d.Expired(time.Unix(99, 999e6)) {
		t.Error("expired before its window end")
	}
	if !d.Expired(time.Unix(100, 0)) {
		t.Error("in force at its window end")
	}
}
