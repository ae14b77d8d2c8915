package counter

import (
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testserver"
)

// A member's report is written with its mark, replaced by its next, and
// forgotten once not written within Keep.
func TestRedisMemberReports(t *testing.T) {
	srv := testserver.Redis(t)
	s := NewRedis(redisClient(t, "redis://"+srv.Addr), testPrefix(t))
	now := time.Now()
	keep := time.Minute
	n, err := s.MembersReporting(ctx(t), "dcs", "a", now, time.Second, MemberReport{Field: "a/1", Value: []byte(`{"n":1}`), Keep: keep})
	if err != nil || n != 1 {
		t.Fatalf("members and report: %d, %v", n, err)
	}
	if n, _ = s.MembersReporting(ctx(t), "dcs", "b", now, time.Second, MemberReport{Field: "b/1", Value: []byte(`{"n":2}`), Keep: keep}); n != 2 {
		t.Fatalf("members after b: %d", n)
	}
	_, _ = s.MembersReporting(ctx(t), "dcs", "a", now, time.Second, MemberReport{Field: "a/1", Value: []byte(`{"n":3}`), Keep: keep})
	got, err := s.MemberReports(ctx(t), "dcs")
	if err != nil || len(got) != 2 || got["a/1"] != `{"n":3}` || got["b/1"] != `{"n":2}` {
		t.Fatalf("reports: %v, %v", got, err)
	}
	// b goes silent: a's next report, past Keep, forgets b's.
	later := now.Add(keep + time.Second)
	if _, err := s.MembersReporting(ctx(t), "dcs", "a", later, time.Second, MemberReport{Field: "a/1", Value: []byte(`{"n":4}`), Keep: keep}); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.MemberReports(ctx(t), "dcs"); len(got) != 1 || got["a/1"] != `{"n":4}` {
		t.Fatalf("reports after b went silent: %v", got)
	}
	// The count is Members' own.
	if n, _ := s.Members(ctx(t), "dcs", "a", later, time.Second); n != 1 {
		t.Fatalf("members: %d", n)
	}
}
