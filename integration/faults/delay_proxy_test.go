package faults

import (
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// delayProxy is a TCP proxy on loopback that delays what it forwards, for
// machines whose kernel has no netem: each chunk read waits delay before
// it is written on, and one in lossEvery (0: none) waits a further stall,
// as a lost segment's retransmission would. Order is kept.
type delayProxy struct {
	addr     string
	target   string
	l        net.Listener
	delay    atomic.Int64 // time.Duration
	lossPerM atomic.Int64 // chunks in a million that stall
	stall    time.Duration

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newDelayProxy(t *testing.T, target string) *delayProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &delayProxy{addr: l.Addr().String(), target: target, l: l, stall: 200 * time.Millisecond}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// set changes the delay and the share of chunks that stall, at once on
// every connection.
func (p *delayProxy) set(delay time.Duration, loss float64) {
	p.delay.Store(int64(delay))
	p.lossPerM.Store(int64(loss * 1e6))
}

func (p *delayProxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst, each chunk no earlier than its due time; either
// side failing closes both.
func (p *delayProxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	queue := make(chan chunk, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range queue {
			time.Sleep(time.Until(c.due))
			if _, err := dst.Write(c.b); err != nil {
				src.Close()
				for range queue {
				}
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			d := time.Duration(p.delay.Load())
			if m := p.lossPerM.Load(); m > 0 && rand.Int64N(1e6) < m {
				d += p.stall
			}
			queue <- chunk{b: append([]byte(nil), buf[:n]...), due: time.Now().Add(d)}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
			}
			close(queue)
			<-done
			dst.Close()
			return
		}
	}
}

func (p *delayProxy) close() {
	p.l.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
