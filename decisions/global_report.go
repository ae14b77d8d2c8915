package decisions

import (
	"encoding/json"
	"time"

	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/globallink"
)

// report is the engine's link to the global tier as the fleet sees it
// (globallink), written into the global tier with the datacenters' count:
// a datacenter cut off cannot write, and its last report says so by its
// age. The busiest leases only, so a report stays small.
func (t *globalTier) report(now time.Time) counter.MemberReport {
	s, _ := t.e.Global()
	r := globallink.Engine{ID: t.e.ID(), Link: s.Link, ReportedAt: now}
	r.Leases = s.Leases[:min(len(s.Leases), globallink.MaxReportLeases)]
	b, _ := json.Marshal(r) // plain fields: it cannot fail
	return counter.MemberReport{Field: r.Field(), Value: b, Keep: globallink.ReportKeep}
}
