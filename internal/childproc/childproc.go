// Package childproc runs a server binary (redis-server, memcached) as a
// child process on a loopback port and waits until it answers: the test
// servers and the accuracy bench's own Redis both start theirs here.
package childproc

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// ReadyTimeout bounds how long a starting process may take to answer.
const ReadyTimeout = 10 * time.Second

// Process is one server process. Addr, Bin, Args and Ready are set before
// Start; Start and Stop may alternate, on the same port.
type Process struct {
	Addr  string // 127.0.0.1:port
	Bin   string
	Args  []string
	Ready func(addr string) error // nil error once the server answers

	cmd  *exec.Cmd
	exit chan struct{} // closed once cmd has exited
	// out is the process's output, for an error that names why it died;
	// read only once the process has exited, when exec's copying is done.
	out bytes.Buffer
}

// Start runs the process, unless it runs, and waits until Ready passes. It
// fails, stopping the process, when the process exits first (naming what it
// printed), ctx ends, or ReadyTimeout passes.
func (p *Process) Start(ctx context.Context) error {
	if p.cmd != nil {
		return nil
	}
	p.out.Reset()
	cmd := exec.Command(p.Bin, p.Args...)
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Bin, err)
	}
	p.cmd, p.exit = cmd, make(chan struct{})
	go func(exit chan struct{}) { _ = cmd.Wait(); close(exit) }(p.exit)
	deadline := time.Now().Add(ReadyTimeout)
	for {
		err := p.Ready(p.Addr)
		if err == nil {
			return nil
		}
		select {
		case <-p.exit:
			p.cmd = nil
			return fmt.Errorf("%s on %s exited: %s", p.Bin, p.Addr, strings.TrimSpace(p.out.String()))
		case <-ctx.Done():
			p.Stop()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop()
			return fmt.Errorf("%s on %s did not answer within %v: %w", p.Bin, p.Addr, ReadyTimeout, err)
		}
	}
}

// Stop kills the process and waits for it; stopping a stopped process
// does nothing.
func (p *Process) Stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exit
	p.cmd = nil
}

// Terminate sends SIGTERM and waits for the process to exit, returning its
// exit code: how a role stops in production. A process still running after
// guard is killed and reported.
func (p *Process) Terminate(guard time.Duration) (int, error) {
	if p.cmd == nil {
		return 0, fmt.Errorf("%s on %s: not running", p.Bin, p.Addr)
	}
	cmd := p.cmd
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("signal %s: %w", p.Bin, err)
	}
	select {
	case <-p.exit:
		p.cmd = nil
		return cmd.ProcessState.ExitCode(), nil
	case <-time.After(guard):
		p.Stop()
		return -1, fmt.Errorf("%s on %s still running %v after SIGTERM: %s", p.Bin, p.Addr, guard, strings.TrimSpace(p.out.String()))
	}
}

// Output is what the process printed; read it once the process has exited.
func (p *Process) Output() string { return p.out.String() }
