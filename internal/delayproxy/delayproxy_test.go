package delayproxy

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testkit"
)

// echo serves one line back per line until the test ends.
func echo(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(line))
				}
			}()
		}
	}()
	return l.Addr().String()
}

func roundTrip(t *testing.T, addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	_, err = bufio.NewReader(c).ReadString('\n')
	return err
}

// The proxy forwards, and a cut link refuses until healed.
func TestProxyForwardsCutsAndHeals(t *testing.T) {
	p, err := New(echo(t), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := roundTrip(t, p.Addr); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	p.Cut()
	if err := roundTrip(t, p.Addr); err == nil {
		t.Fatal("a cut link answered")
	}
	p.Heal()
	testkit.Eventually(t, "the healed link", func() bool { return roundTrip(t, p.Addr) == nil })
}

// A connection open when the link is cut is closed.
func TestCutClosesOpenConnections(t *testing.T) {
	p, err := New(echo(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = r.ReadString('\n')
	if ne, ok := err.(net.Error); err == nil || ok && ne.Timeout() {
		t.Fatalf("the connection was not closed by the cut: %v", err)
	}
}
