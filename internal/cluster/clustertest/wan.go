package clustertest

import (
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/delayproxy"
)

// NewWAN is a WAN link to target with delay each way (a delaying proxy,
// which Cut severs), closed when t ends.
func NewWAN(t testing.TB, target string, delay time.Duration) *delayproxy.Proxy {
	t.Helper()
	w, err := delayproxy.New(target, delay)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}
