package ratelimit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
	"github.com/floodgate/floodgate/policy"
)

// A policy file changed on disk is served without a restart; a bad change
// is rejected and the last good policies keep serving.
func TestReloadFromWatchedFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "api.yaml")
	write := func(s string) {
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	write("domain: api\ndescriptors:\n  - key: k\n    rate_limit: {unit: minute, requests_per_unit: 1}\n")
	r := startRLS(t, Options{}, testPolicy)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rejected := make(chan struct{}, 8)
	go policy.Watch(ctx, []string{dir}, 10*time.Millisecond, r.svc.SetSnapshot, func(error) {
		r.svc.RejectSnapshot()
		rejected <- struct{}{}
	})

	limitOf := func() uint32 {
		return r.call(t, "api", desc("k", "v")).Statuses[0].GetCurrentLimit().GetRequestsPerUnit()
	}
	waitFor := func(want uint32) {
		t.Helper()
		testkit.Eventually(t, fmt.Sprintf("the limit to become %d", want), func() bool { return limitOf() == want })
	}
	waitFor(1)
	write("domain: api\ndescriptors:\n  - key: k\n    rate_limit: {unit: minute, requests_per_unit: 7}\n")
	waitFor(7)
	write("domain: api\ndescriptors:\n  - key: k\n    rate_limit: {unit: fortnight, requests_per_unit: 9}\n")
	testkit.Receive(t, "the bad file rejected", rejected)
	if got := limitOf(); got != 7 {
		t.Fatalf("after a bad reload the limit is %d, want the last good 7", got)
	}
	if got := r.counter("ratelimit.service.config_load_error"); got == 0 {
		t.Errorf("config_load_error = 0 after a rejected reload")
	}
}
