package redisconn

import (
	"context"
	"testing"
	"time"

	"github.com/floodgate/floodgate/internal/testserver"
)

// A unix:// URL reaches Redis over its socket, in the database ?db= names.
func TestNewUnixSocket(t *testing.T) {
	srv, sock := testserver.RedisUnix(t)
	c, err := New("unix://" + sock + "?db=2&dial_timeout=1s")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Set(ctx, "via-socket", "1", 0).Err(); err != nil {
		t.Fatalf("SET over the socket: %v", err)
	}
	// The same key read over TCP, in database 2 and not in 0, shows which
	// database the socket client wrote.
	tcp, err := New("redis://" + srv.Addr + "/2")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	if v, err := tcp.Get(ctx, "via-socket").Result(); err != nil || v != "1" {
		t.Fatalf("GET in db 2 over TCP = %q, %v; want 1", v, err)
	}
	srv.Stop()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING over the socket of a stopped Redis succeeded")
	}
}
