package netlab

import (
	"context"
	"io"
	"os"
	"testing"
	"time"
)

// A site reaches the hub and, through it, the other site; a cut link
// carries nothing until healed; and every namespace is gone once the test
// ends.
func TestLab(t *testing.T) {
	var names []string
	t.Run("lab", func(t *testing.T) {
		l := New(t, 2)
		for _, ns := range append([]*NS{l.Hub}, l.Sites...) {
			names = append(names, ns.Name)
		}
		echo(t, l.Hub, "0.0.0.0:7000")
		echo(t, l.Sites[1], l.Sites[1].IP+":7000")

		s0 := l.Sites[0]
		if err := roundTrip(s0, l.Sites[0].HubIP+":7000"); err != nil {
			t.Fatalf("site 0 to the hub: %v", err)
		}
		if err := roundTrip(s0, l.Sites[1].IP+":7000"); err != nil {
			t.Fatalf("site 0 to site 1 through the hub: %v", err)
		}
		l.Cut(t, 0)
		if err := roundTrip(s0, l.Sites[0].HubIP+":7000"); err == nil {
			t.Fatal("site 0 reaches the hub over a cut link")
		}
		if err := roundTrip(l.Sites[1], l.Sites[1].HubIP+":7000"); err != nil {
			t.Fatalf("site 1 to the hub while site 0 is cut: %v", err)
		}
		l.Heal(t, 0)
		if err := roundTrip(s0, l.Sites[0].HubIP+":7000"); err != nil {
			t.Fatalf("site 0 to the hub once healed: %v", err)
		}
	})
	for _, n := range names {
		if _, err := os.Stat("/run/netns/" + n); err == nil {
			t.Errorf("network namespace %s left behind", n)
		}
	}
}

// echo serves one echo per connection inside ns until t ends.
func echo(t *testing.T, ns *NS, addr string) {
	t.Helper()
	ln, err := ns.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(2 * time.Second))
				_, _ = io.CopyN(c, c, 4)
			}()
		}
	}()
}

// roundTrip sends four bytes to an echo at addr from inside ns and reads
// them back, within a second.
func roundTrip(ns *NS, addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := ns.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	_, err = io.ReadFull(c, make([]byte, 4))
	return err
}
