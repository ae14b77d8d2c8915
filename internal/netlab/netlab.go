// Package netlab builds a small network of Linux network namespaces for
// tests: a hub namespace routing between site namespaces, each site joined
// to the hub by a veth pair on a /24 of its own. Processes run inside a
// namespace through `ip netns exec`; the test process dials and listens
// inside one by switching a locked OS thread into it, so the root
// namespace's routes, addresses and sysctls are never touched. It needs
// root and iproute2: where namespaces cannot be made, New skips the test,
// naming what failed.
package netlab

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// Lab is a hub namespace and the sites joined to it.
type Lab struct {
	Hub   *NS
	Sites []*NS
}

// NS is one network namespace of a Lab.
type NS struct {
	Name string
	// IP is the site's address on its link to the hub; HubIP the hub's
	// address on that link (the site's default route). Empty on the hub.
	IP, HubIP string
	// dev is the site's end of its veth pair, hubDev the hub's end.
	dev, hubDev string
}

// labs numbers the labs of this process: -count=N makes one a run.
var labs atomic.Int64

// namePrefix is what every namespace this process creates is named with:
// the pid, so that a later run can tell which ones a killed test leaked.
func namePrefix() string { return fmt.Sprintf("fg%d-", os.Getpid()) }

var ownName = regexp.MustCompile(`^fg(\d+)-`)

// New creates a hub and sites namespaces, site i on 10.200.i.0/24 (the
// hub .1, the site .2), forwarding between them in the hub alone; all of
// it is deleted when t ends, failed or not. It skips t in -short, when not
// root, or when the machine refuses namespaces or veth pairs.
func New(t testing.TB, sites int) *Lab {
	t.Helper()
	if testing.Short() {
		t.Skip("network namespaces: not in -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("network namespaces not allowed: needs root (ip netns add, veth pairs)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network namespaces not allowed: the ip command (iproute2) is not installed")
	}
	sweepStale(t)
	prefix := fmt.Sprintf("%s%d-", namePrefix(), labs.Add(1))
	l := &Lab{Hub: &NS{Name: prefix + "hub"}}
	if out, err := run("ip", "netns", "add", l.Hub.Name); err != nil {
		t.Skipf("network namespaces not allowed: ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { l.remove(t) })
	for i := range sites {
		s := &NS{Name: fmt.Sprintf("%ss%d", prefix, i), IP: fmt.Sprintf("10.200.%d.2", i), HubIP: fmt.Sprintf("10.200.%d.1", i),
			dev: "hub", hubDev: fmt.Sprintf("site%d", i)}
		if out, err := run("ip", "netns", "add", s.Name); err != nil {
			t.Skipf("network namespaces not allowed: ip netns add: %v: %s", err, out)
		}
		l.Sites = append(l.Sites, s)
		// Both ends are made inside namespaces: no device ever appears in
		// the root namespace.
		if out, err := l.Hub.Run("ip", "link", "add", s.hubDev, "type", "veth", "peer", "name", s.dev, "netns", s.Name); err != nil {
			t.Skipf("network namespaces: no veth pairs here: ip link add: %v: %s", err, out)
		}
		l.Hub.must(t, "ip", "addr", "add", s.HubIP+"/24", "dev", s.hubDev)
		l.Hub.must(t, "ip", "link", "set", s.hubDev, "up")
		s.must(t, "ip", "link", "set", "lo", "up")
		s.must(t, "ip", "addr", "add", s.IP+"/24", "dev", s.dev)
		s.must(t, "ip", "link", "set", s.dev, "up")
		s.must(t, "ip", "route", "add", "default", "via", s.HubIP)
	}
	l.Hub.must(t, "ip", "link", "set", "lo", "up")
	l.Hub.must(t, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	return l
}

// remove deletes the lab's namespaces; their veth pairs go with them.
func (l *Lab) remove(t testing.TB) {
	for _, ns := range append([]*NS{l.Hub}, l.Sites...) {
		if out, err := run("ip", "netns", "del", ns.Name); err != nil {
			t.Errorf("removing network namespace %s: %v: %s", ns.Name, err, out)
		}
	}
}

// sweepStale deletes the namespaces of earlier test processes that died
// without removing theirs (a SIGKILL skips t.Cleanup).
func sweepStale(t testing.TB) {
	out, err := run("ip", "netns", "list")
	if err != nil {
		return
	}
	for _, line := range strings.Split(out, "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		m := ownName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		if out, err := run("ip", "netns", "del", name); err != nil {
			t.Logf("stale network namespace %s of dead process %d: %v: %s", name, pid, err, out)
		}
	}
}

// Cut takes the hub's end of site i's link down: nothing crosses it, in
// either direction, until Heal. The site's own end, its address and routes
// stay as they are.
func (l *Lab) Cut(t testing.TB, i int) {
	t.Helper()
	l.Hub.must(t, "ip", "link", "set", l.Sites[i].hubDev, "down")
}

// Heal brings site i's link back up.
func (l *Lab) Heal(t testing.TB, i int) {
	t.Helper()
	l.Hub.must(t, "ip", "link", "set", l.Sites[i].hubDev, "up")
}

// Command is the command line that runs bin with args inside the
// namespace: `ip netns exec` execs bin, so the process is bin's own.
func (n *NS) Command(bin string, args ...string) (string, []string) {
	return "ip", append([]string{"netns", "exec", n.Name, bin}, args...)
}

// Run runs a command inside the namespace and returns its output.
func (n *NS) Run(cmd ...string) (string, error) {
	name, args := n.Command(cmd[0], cmd[1:]...)
	return run(name, args...)
}

// must is Run, failing t when the command fails.
func (n *NS) must(t testing.TB, cmd ...string) {
	t.Helper()
	if out, err := n.Run(cmd...); err != nil {
		t.Fatalf("in %s: %s: %v: %s", n.Name, strings.Join(cmd, " "), err, out)
	}
}

func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
