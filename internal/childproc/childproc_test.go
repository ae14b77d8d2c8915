package childproc

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
)

// A process that dies before it answers fails Start, naming what it
// printed; one that answers runs until Stop, and starts again after it.
func TestProcess(t *testing.T) {
	notYet := func(string) error { return errors.New("not answering") }
	dies := &Process{Addr: "127.0.0.1:1", Bin: "sh", Args: []string{"-c", "echo bad directive; exit 1"}, Ready: notYet}
	err := dies.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "bad directive") {
		t.Fatalf("Start of a process that exits = %v, want its output named", err)
	}

	runs := &Process{Addr: "127.0.0.1:1", Bin: "sleep", Args: []string{"60"}, Ready: func(string) error { return nil }}
	for range 2 {
		if err := runs.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if runs.cmd == nil || runs.cmd.ProcessState != nil {
			t.Fatal("not running after Start")
		}
		runs.Stop()
		if runs.cmd != nil {
			t.Fatal("still held after Stop")
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slow := &Process{Addr: "127.0.0.1:1", Bin: "sleep", Args: []string{"60"}, Ready: notYet}
	if err := slow.Start(ctx); !errors.Is(err, context.Canceled) || slow.cmd != nil {
		t.Fatalf("Start with ctx ended = %v (running: %v), want context.Canceled and the process stopped", err, slow.cmd != nil)
	}
}

// FreePort draws below the ephemeral range, where no outgoing connection
// can take the port before the child binds it, and the port can be bound.
func TestFreePortIsBelowTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	if low <= firstPort+1000 {
		t.Skipf("ephemeral range starts at %d: no room below it", low)
	}
	for range 20 {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if port < firstPort || port >= low {
			t.Fatalf("port %d, want one in [%d, %d)", port, firstPort, low)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("port %d: %v", port, err)
		}
		l.Close()
	}
}
