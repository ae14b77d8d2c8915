package netlab

import (
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// Netem reports whether tc can add a netem qdisc here, and if not why: a
// kernel without sch_netem answers "Specified qdisc kind is unknown".
func (l *Lab) Netem() (ok bool, why string) {
	if _, err := exec.LookPath("tc"); err != nil {
		return false, "the tc command (iproute2) is not installed"
	}
	s := l.Sites[0]
	if out, err := s.Run("tc", "qdisc", "add", "dev", s.dev, "root", "netem", "delay", "1ms"); err != nil {
		return false, "tc qdisc add ... netem: " + err.Error() + ": " + out
	}
	_, _ = s.Run("tc", "qdisc", "del", "dev", s.dev, "root")
	return true, ""
}

// Delay makes netem hold every packet crossing site i's link for d, each
// way (a round trip of 2d): the site's end delays what it sends to the
// hub, the hub's end what it sends to the site.
func (l *Lab) Delay(t testing.TB, i int, d time.Duration) {
	t.Helper()
	s := l.Sites[i]
	us := fmt.Sprintf("%dus", d.Microseconds())
	s.must(t, "tc", "qdisc", "add", "dev", s.dev, "root", "netem", "delay", us)
	l.Hub.must(t, "tc", "qdisc", "add", "dev", s.hubDev, "root", "netem", "delay", us)
}
