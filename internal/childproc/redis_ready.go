package childproc

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"time"
)

// RedisReady is a Process's Ready for a Redis server: addr answers PING
// with PONG, dialed by dial (a plain dial when nil; a network namespace's
// dialer for a server inside one).
func RedisReady(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(addr string) error {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return func(addr string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		c, err := dial(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			return err
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "+PONG") {
			return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
		}
		return nil
	}
}
