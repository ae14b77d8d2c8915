// Package delayproxy is a TCP proxy on loopback that delays, stalls or
// cuts what it forwards: the wide-area link between datacenters and the
// lossy network of the fault tests, on machines whose kernel has no netem.
package delayproxy

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// stall is how long a chunk picked as lost waits on top of the delay, as
// a lost segment's retransmission would.
const stall = 200 * time.Millisecond

// Proxy forwards connections to a target. Each chunk it reads waits the
// delay before it is written on (order kept), one in a loss share waits a
// stall more, and Cut severs the link until Heal.
type Proxy struct {
	Addr   string
	dial   func() (net.Conn, error)
	l      net.Listener
	delay  atomic.Int64 // time.Duration
	lossPM atomic.Int64 // chunks in a million that stall
	cut    atomic.Bool

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// New proxies to target with delay each way, on a loopback port of its
// own, until Close.
func New(target string, delay time.Duration) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("delay proxy: %w", err)
	}
	return Serve(l, func() (net.Conn, error) { return net.Dial("tcp", target) }, delay), nil
}

// Serve proxies what l accepts to the connections dial makes, with delay
// each way, until Close (which closes l): a proxy whose listener and dials
// live in a network namespace of their own. A dial should be bounded in
// time: connections wait for it in turn.
func Serve(l net.Listener, dial func() (net.Conn, error), delay time.Duration) *Proxy {
	p := &Proxy{Addr: l.Addr().String(), dial: dial, l: l, conns: map[net.Conn]struct{}{}}
	p.delay.Store(int64(delay))
	p.wg.Add(1)
	go p.accept()
	return p
}

// Set changes the delay and the share of chunks that stall, at once on
// every connection.
func (p *Proxy) Set(delay time.Duration, loss float64) {
	p.delay.Store(int64(delay))
	p.lossPM.Store(int64(loss * 1e6))
}

// Cut severs the link: every connection through it is closed and new ones
// are closed as soon as they are accepted.
func (p *Proxy) Cut() {
	p.cut.Store(true)
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

// Heal lets connections through again.
func (p *Proxy) Heal() { p.cut.Store(false) }

// Close stops the proxy and every connection through it.
func (p *Proxy) Close() {
	p.l.Close()
	p.Cut()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		if p.cut.Load() {
			in.Close()
			continue
		}
		out, err := p.dial()
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
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
func (p *Proxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, src)
		delete(p.conns, dst)
		p.mu.Unlock()
	}()
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
			if m := p.lossPM.Load(); m > 0 && rand.Int64N(1e6) < m {
				d += stall
			}
			queue <- chunk{b: append([]byte(nil), buf[:n]...), due: time.Now().Add(d)}
		}
		if err != nil {
			if err != io.EOF {
				// A broken side: what is queued for the other is moot.
				dst.Close()
				src.Close()
			}
			close(queue)
			<-done
			dst.Close()
			return
		}
	}
}
