// Package decisions owns the throttle engine and the bus that carries its
// decisions to every RLS replica. See README.md.
package decisions

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/floodgate/floodgate/decisions/enginepb"
)

// State is what a decision says about a key.
type State uint8

const (
	StateUnknown State = iota
	// Throttled: the key's window count is over its limit until WindowEnd.
	Throttled
	// Released: a throttled key's window has ended.
	Released
)

func (s State) String() string {
	switch s {
	case Throttled:
		return "throttled"
	case Released:
		return "released"
	}
	return "unknown"
}

// Decision is the engine's verdict on one cache key for one window. It is
// data with an expiry: applying one twice, or late, is harmless.
type Decision struct {
	Domain string
	// Key is the cache key including the window start, as
	// policy.Resolve and policy.AppendKey build it for the RLS and the
	// engine alike.
	Key       string
	State     State
	WindowEnd int64  // Unix seconds; the decision expires then
	Limit     uint32 // requests per unit the engine enforced
	Count     uint64 // the window's count when the engine decided
	Engine    string // id of the engine that decided
	Seq       uint64 // per engine, increasing across restarts
}

// Expired reports whether the decision no longer applies at now.
func (d *Decision) Expired(now time.Time) bool {
	return now.Unix() >= d.WindowEnd
}

// Newer reports whether d should replace old for the same key: the later
// window wins, then the higher sequence; a release ends its window for good.
func (d *Decision) Newer(old *Decision) bool {
	if d.WindowEnd != old.WindowEnd {
		return d.WindowEnd > old.WindowEnd
	}
	if d.State != old.State {
		return d.State == Released
	}
	return d.Seq > old.Seq
}

// Marshal encodes d as the enginepb.Decision stored and published on Redis.
func (d *Decision) Marshal() ([]byte, error) {
	return proto.Marshal(&enginepb.Decision{
		Domain:    d.Domain,
		Key:       d.Key,
		State:     enginepb.Decision_State(d.State),
		WindowEnd: d.WindowEnd,
		Limit:     d.Limit,
		Count:     d.Count,
		Engine:    d.Engine,
		Seq:       d.Seq,
	})
}

// Unmarshal decodes what Marshal wrote.
func Unmarshal(b []byte) (Decision, error) {
	var pb enginepb.Decision
	if err := proto.Unmarshal(b, &pb); err != nil {
		return Decision{}, fmt.Errorf("decode decision: %w", err)
	}
	d := Decision{
		Domain:    pb.Domain,
		Key:       pb.Key,
		State:     State(pb.State),
		WindowEnd: pb.WindowEnd,
		Limit:     pb.Limit,
		Count:     pb.Count,
		Engine:    pb.Engine,
		Seq:       pb.Seq,
	}
	if d.Key == "" || (d.State != Throttled && d.State != Released) {
		return Decision{}, fmt.Errorf("decode decision: key %q state %d: incomplete", d.Key, pb.State)
	}
	return d, nil
}
