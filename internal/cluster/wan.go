package cluster

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// WAN is a TCP proxy on loopback standing for the wide-area link between a
// datacenter and a service elsewhere: what it forwards waits Delay each way
// (order kept), and Cut severs the link (open connections are closed, new
// ones refused) until Heal. It stands in for netem and network namespaces
// where the kernel has neither.
type WAN struct {
	Addr   string
	target string
	l      net.Listener
	delay  time.Duration
	cut    atomic.Bool

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewWAN proxies to target with delay each way, on a loopback port of
// its own, until Close.
func NewWAN(target string, delay time.Duration) (*WAN, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("wan proxy: %w", err)
	}
	w := &WAN{Addr: l.Addr().String(), target: target, l: l, delay: delay, conns: map[net.Conn]struct{}{}}
	w.wg.Add(1)
	go w.accept()
	return w, nil
}

// Cut severs the link: every connection through it is closed and new ones
// are closed as soon as they are accepted.
func (w *WAN) Cut() {
	w.cut.Store(true)
	w.mu.Lock()
	for c := range w.conns {
		c.Close()
	}
	w.mu.Unlock()
}

// Heal lets connections through again.
func (w *WAN) Heal() { w.cut.Store(false) }

func (w *WAN) accept() {
	defer w.wg.Done()
	for {
		in, err := w.l.Accept()
		if err != nil {
			return
		}
		if w.cut.Load() {
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", w.target)
		if err != nil {
			in.Close()
			continue
		}
		w.mu.Lock()
		w.conns[in], w.conns[out] = struct{}{}, struct{}{}
		w.mu.Unlock()
		w.wg.Add(2)
		go w.pipe(in, out)
		go w.pipe(out, in)
	}
}

type wanChunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst, each chunk no earlier than delay after it was
// read; either side failing closes both.
func (w *WAN) pipe(src, dst net.Conn) {
	defer w.wg.Done()
	defer func() {
		w.mu.Lock()
		delete(w.conns, src)
		delete(w.conns, dst)
		w.mu.Unlock()
	}()
	queue := make(chan wanChunk, 1024)
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
			queue <- wanChunk{b: append([]byte(nil), buf[:n]...), due: time.Now().Add(w.delay)}
		}
		if err != nil {
			close(queue)
			<-done
			dst.Close()
			if err != io.EOF {
				src.Close()
			}
			return
		}
	}
}

// Close stops the proxy and every connection through it.
func (w *WAN) Close() {
	w.l.Close()
	w.Cut()
	w.wg.Wait()
}
