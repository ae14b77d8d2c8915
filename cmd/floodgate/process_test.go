package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/floodgate/floodgate/internal/childproc"
	"github.com/floodgate/floodgate/internal/testserver"
)

// roleArg makes the test binary run as floodgate itself: tests start real
// role processes from it, so the binary is built once, with the tests.
const roleArg = "-run-as-floodgate"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == roleArg {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[2:])
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// roleProcess is one floodgate role running as a process of its own.
type roleProcess struct {
	*childproc.Process
	grpcAddr, httpAddr string
}

// startRole runs `floodgate role args...` as a process on free loopback
// ports, once its gRPC port accepts; it is killed at the test's end if
// still running.
func startRole(t *testing.T, role string, args ...string) *roleProcess {
	t.Helper()
	r := &roleProcess{
		grpcAddr: fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t)),
		httpAddr: fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t)),
	}
	r.Process = &childproc.Process{
		Addr: r.grpcAddr,
		Bin:  os.Args[0],
		Args: append([]string{roleArg, role, "--grpc-addr", r.grpcAddr, "--http-addr", r.httpAddr}, args...),
		Ready: func(addr string) error {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err
		},
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}
