package replica

import (
	"testing"

	"github.com/floodgate/floodgate/decisions"
	"github.com/floodgate/floodgate/internal/counter"
	"github.com/floodgate/floodgate/internal/testkit"
)

// A replica is unhealthy while no engine takes its hits, whether it fails
// open or closed, and healthy again once an engine is back: every hit it
// takes meanwhile is dropped.
func TestHealthCheckDegradesWithoutEngine(t *testing.T) {
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
	for name, h := range map[string]func() (bool, map[string]any){"allow": allow, "deny": deny} {
		if ok, detail := h(); ok {
			t.Errorf("%s: healthy with no engine taking hits: %v", name, detail)
		}
	}
	engineServer(t, bus, store, addr)
	testkit.Eventually(t, "replicas healthy again", func() bool {
		a, _ := allow()
		d, _ := deny()
		return a && d
	})
}
