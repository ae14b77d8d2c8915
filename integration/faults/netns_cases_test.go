package faults

import (
	"net"
	"testing"
	"time"
)

// Network faults around one replica, run inside a network namespace of
// its own: the callers reach it over a veth pair, and only its links to
// Redis or to the engines break.
func TestNetworkFaults(t *testing.T) {
	t.Run("netns-replica-cut-from-redis", func(t *testing.T) {
		n := newNetNS(t)
		asyncCase{
			name:  "netns-replica-cut-from-redis",
			opts:  options{ns: n},
			fault: func(t *testing.T, d *deployment) { n.cutRedis(t, d.redis.Port) },
			heal:  func(t *testing.T, d *deployment) { n.healRedis(t, d.redis.Port) },
		}.run(t)
	})
	t.Run("netem-replica-engine", func(t *testing.T) {
		n := newNetNS(t)
		n.needNetem(t)
		asyncCase{
			name: "netem-replica-engine",
			opts: options{ns: n},
			load: []int{0},
			fault: func(t *testing.T, d *deployment) {
				var ports []string
				for _, e := range d.engines {
					_, port, _ := net.SplitHostPort(e.grpc)
					ports = append(ports, port)
				}
				n.delayToEngines(t, []string{"delay", "30ms", "loss", "5%"}, ports...)
			},
			heal: func(t *testing.T, d *deployment) { n.clearDelay(t) },
		}.run(t)
	})
}

// Where the kernel has no netem, the same latency and loss between replica
// 0 and the engines comes from a proxy in the test: every chunk delayed
// 30ms, one in twenty stalled 200ms more, as a lost segment's
// retransmission is. Runs everywhere, namespaces or not.
func TestProxiedLatencyToEngines(t *testing.T) {
	asyncCase{
		name: "latency-replica-engine-proxy",
		opts: options{proxyEngines: true},
		load: []int{0},
		fault: func(t *testing.T, d *deployment) {
			for _, p := range d.proxies {
				p.Set(30*time.Millisecond, 0.05)
			}
		},
		heal: func(t *testing.T, d *deployment) {
			for _, p := range d.proxies {
				p.Set(0, 0)
			}
		},
	}.run(t)
}
