package faults

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// netNS is a network namespace the test creates, joined to the host's by a
// veth pair on a /29 of its own: the host side holds hostIP (the engines)
// and redisIP (Redis), the namespace side nsIP (the replica inside). Only
// these addresses are ever routed, cut or delayed.
type netNS struct {
	name            string
	hostDev, nsDev  string
	hostIP, redisIP string
	nsIP            string
}

// newNetNS creates a namespace and its veth pair, removed when t ends
// whatever happens; it skips t, naming what is missing, where the machine
// does not allow namespaces.
func newNetNS(t *testing.T) *netNS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces: needs root (ip netns add, veth); run the fault suite as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network namespaces: the ip command (iproute2) is not installed")
	}
	tag := fmt.Sprintf("%d%03d", os.Getpid()%1000, rand.IntN(1000))
	n := &netNS{name: "fgfaults" + tag, hostDev: "fgh" + tag, nsDev: "fgn" + tag}
	n.hostIP, n.nsIP, n.redisIP = freeSubnet(t)
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		t.Skipf("network namespaces: ip netns add refused (%v: %s): the machine does not allow them", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", n.hostDev).Run()
		if out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput(); err != nil {
			t.Errorf("removing network namespace %s: %v: %s", n.name, err, out)
		}
	})
	if out, err := exec.Command("ip", "link", "add", n.hostDev, "type", "veth", "peer", "name", n.nsDev).CombinedOutput(); err != nil {
		t.Skipf("network namespaces: no veth pairs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	n.ip(t, "link", "set", n.nsDev, "netns", n.name)
	n.ip(t, "addr", "add", n.hostIP+"/29", "dev", n.hostDev)
	n.ip(t, "addr", "add", n.redisIP+"/29", "dev", n.hostDev)
	n.ip(t, "link", "set", n.hostDev, "up")
	n.inside(t, "ip", "addr", "add", n.nsIP+"/29", "dev", n.nsDev)
	n.inside(t, "ip", "link", "set", n.nsDev, "up")
	n.inside(t, "ip", "link", "set", "lo", "up")
	return n
}

// freeSubnet picks a 10.213.x.0/29 no interface of the host is on.
func freeSubnet(t *testing.T) (host, ns, redis string) {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		base := fmt.Sprintf("10.213.%d.%d", rand.IntN(256), 8*rand.IntN(32))
		ip := net.ParseIP(base).To4()
		taken := false
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.Contains(ip) {
				taken = true
			}
		}
		if !taken {
			at := func(i byte) string { return net.IPv4(ip[0], ip[1], ip[2], ip[3]+i).String() }
			return at(1), at(2), at(5)
		}
	}
	t.Fatal("no free 10.213.x.0/29 for a test namespace")
	return
}

// ip runs `ip args...` on the host, failing t when it fails.
func (n *netNS) ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// inside runs a command in the namespace, failing t when it fails.
func (n *netNS) inside(t *testing.T, cmd ...string) {
	t.Helper()
	if out, err := n.try(cmd...); err != nil {
		t.Fatalf("in %s: %s: %v: %s", n.name, strings.Join(cmd, " "), err, out)
	}
}

// try runs a command in the namespace and returns its output.
func (n *netNS) try(cmd ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", n.name}, cmd...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// cutRedis drops every packet the namespace sends to Redis at port: a
// blackhole route to redisIP, the engines' address untouched. It checks
// that Redis answered from inside before and does not after.
func (n *netNS) cutRedis(t *testing.T, port int) {
	t.Helper()
	if !n.reaches(n.redisIP, port) {
		t.Fatalf("Redis on %s:%d does not answer inside %s before the cut", n.redisIP, port, n.name)
	}
	n.inside(t, "ip", "route", "add", "blackhole", n.redisIP+"/32")
	if n.reaches(n.redisIP, port) {
		t.Fatalf("Redis on %s:%d still answers inside %s after the cut", n.redisIP, port, n.name)
	}
}

func (n *netNS) healRedis(t *testing.T, port int) {
	t.Helper()
	n.inside(t, "ip", "route", "del", "blackhole", n.redisIP+"/32")
	if !n.reaches(n.redisIP, port) {
		t.Fatalf("Redis on %s:%d does not answer inside %s once healed", n.redisIP, port, n.name)
	}
}

// reaches reports whether a Redis at ip:port answers a PING from inside.
func (n *netNS) reaches(ip string, port int) bool {
	out, err := n.try("timeout", "2", "redis-cli", "-h", ip, "-p", fmt.Sprint(port), "ping")
	return err == nil && out == "PONG"
}

// needNetem skips t unless tc can add a netem qdisc in the namespace.
func (n *netNS) needNetem(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tc"); err != nil {
		t.Skip("netem: the tc command (iproute2) is not installed")
	}
	if out, err := n.try("tc", "qdisc", "add", "dev", n.nsDev, "root", "netem", "delay", "1ms"); err != nil {
		t.Skipf("netem: tc qdisc add ... netem refused (%v: %s): this kernel has no sch_netem", err, out)
	}
	n.inside(t, "tc", "qdisc", "del", "dev", n.nsDev, "root")
}

// delayToEngines adds netem (delay, loss) to what the namespace sends to
// the engines' ports on hostIP, and to nothing else: the callers' answers
// leave undelayed. An htb root sends unmatched packets to its default
// class, the engines' through a netem child.
func (n *netNS) delayToEngines(t *testing.T, netem []string, ports ...string) {
	dev := n.nsDev
	n.inside(t, "tc", "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "1", "r2q", "100000")
	n.inside(t, "tc", "class", "add", "dev", dev, "parent", "1:", "classid", "1:1", "htb", "rate", "10gbit")
	n.inside(t, "tc", "class", "add", "dev", dev, "parent", "1:", "classid", "1:2", "htb", "rate", "10gbit")
	n.inside(t, append([]string{"tc", "qdisc", "add", "dev", dev, "parent", "1:2", "handle", "20:", "netem"}, netem...)...)
	for _, p := range ports {
		n.inside(t, "tc", "filter", "add", "dev", dev, "parent", "1:", "protocol", "ip", "prio", "1", "u32",
			"match", "ip", "dst", n.hostIP+"/32", "match", "ip", "dport", p, "0xffff", "flowid", "1:2")
	}
}

func (n *netNS) clearDelay(t *testing.T) {
	n.inside(t, "tc", "qdisc", "del", "dev", n.nsDev, "root")
}
