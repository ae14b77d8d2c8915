package serving

import (
	"errors"
	"expvar"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"sync"
	"time"
)

// DebugServer is a role's debug listener (envoyproxy/ratelimit's
// DEBUG_HOST/DEBUG_PORT): pprof and the stats as text, apart from the
// serving ports so that it can stay private.
type DebugServer struct {
	lis  net.Listener
	srv  *http.Server
	mux  *http.ServeMux
	done chan struct{}

	mu        sync.Mutex
	endpoints [][2]string // path, what: "/" lists them
}

// debugEndpoints are what "/" lists, as envoyproxy/ratelimit's does,
// before those added by Handle.
var debugEndpoints = [][2]string{
	{"/debug/pprof/", "root of various pprof endpoints. hit for help."},
	{"/debug/pprof/profile", "CPU profiling endpoint"},
	{"/debug/pprof/trace", "trace endpoint"},
	{"/stats", "print out stats"},
}

// StartDebug serves on addr until Close:
//
//	GET /              the endpoints, one "path: what" line each
//	GET /stats         expvar's variables (cmdline, memstats), then what
//	                   writeStats writes, one "name: value" line each
//	    /debug/pprof/  net/http/pprof
func StartDebug(addr string, writeStats func(io.Writer)) (*DebugServer, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		expvar.Do(func(kv expvar.KeyValue) { fmt.Fprintf(w, "%s: %s\n", kv.Key, kv.Value) })
		if writeStats != nil {
			writeStats(w)
		}
	})
	// No write timeout: a CPU profile or a trace streams for as long as
	// its ?seconds= asks.
	d := &DebugServer{lis: lis, mux: mux, done: make(chan struct{}), endpoints: slices.Clone(debugEndpoints),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, e := range d.endpoints {
			fmt.Fprintf(w, "%s: %s\n", e[0], e[1])
		}
	})
	go func() {
		defer close(d.done)
		if err := d.srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			// Only a broken listener ends it early; the role serves on.
			slog.Warn("debug listener stopped", "addr", lis.Addr().String(), "error", err)
		}
	}()
	return d, nil
}

// Handle adds an endpoint once the role has it to serve (the RLS's
// /rlconfig, as envoyproxy/ratelimit's debug listener has it), listed on
// "/" with what it does.
func (d *DebugServer) Handle(path, what string, h http.Handler) {
	d.mux.Handle("GET "+path, h)
	d.mu.Lock()
	d.endpoints = append(d.endpoints, [2]string{path, what})
	d.mu.Unlock()
}

// Addr is the bound address.
func (d *DebugServer) Addr() net.Addr { return d.lis.Addr() }

// Close stops the listener and the requests in progress (a profile being
// taken is cut), and returns once the server has stopped.
func (d *DebugServer) Close() error {
	err := d.srv.Close()
	<-d.done
	return err
}
