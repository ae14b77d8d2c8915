package replica

import (
	"testing"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
)

// A replica that fails open stays healthy without an engine; one that
// fails closed is unhealthy until an engine is back.
func TestHealthCheckFollowsOnEngineDown(t *testing.T) {
	bus := &decisions.MemoryBus{}
	store := counter.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	addr, stop := engineServer(t, bus, store, "127.0.0.1:0")
	allow := newTestAsync(t, addr, bus, EngineDownAllow).HealthCheck()
	deny := newTestAsync(t, addr, bus, EngineDownDeny).HealthCheck()
	connected := func(h func() (bool, map[string]any)) bool { _, d := h(); return d["engine_connected"] == true }
	testkit.Eventually(t, "engines connected", func() bool { return connected(allow) && connected(deny) })
	for name, h := range map[string]func() (bool, map[string]any){"allow": allow, "deny": deny} {
		ok, detail := h()
		if !ok || detail["engines_connected"] != 1 || detail["bus_connected"] != true {
			t.Errorf("%s with the engine up: healthy %v, %v", name, ok, detail)
		}
	}

	stop()
	testkit.Eventually(t, "engines gone", func() bool { return !connected(allow) && !connected(deny) })
	if ok, _ := allow(); !ok {
		t.Error("a fail-open replica is unhealthy without an engine")
	}
	if ok, _ := deny(); ok {
		t.Error("a fail-closed replica is healthy without an engine")
	}
	engineServer(t, bus, store, addr)
	testkit.Eventually(t, "fail-closed replica healthy again", func() bool { ok, _ := deny(); return ok })
}
