package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/metrics"
	"github.com/floodgate/floodgate/internal/serving"
)

// debugFlags open a role's debug listener: pprof and /stats
// (envoyproxy/ratelimit's DEBUG_HOST/DEBUG_PORT).
type debugFlags struct {
	addr   string
	server *serving.DebugServer // nil without --debug-addr
}

func (f *debugFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "debug-addr", "", "`address` of the debug listener: /stats (the stats as text) and /debug/pprof/; empty: none. Keep it private")
}

// sink is the stats sink /stats reads, nil without a debug listener.
func (f *debugFlags) sink() *metrics.TextSink {
	if f.addr == "" {
		return nil
	}
	return metrics.NewTextSink()
}

// start serves the debug listener until ctx is done; /stats flushes store
// into text first, so that it is never a flush interval behind.
func (f *debugFlags) start(ctx context.Context, store gostats.Store, text *metrics.TextSink) error {
	if f.addr == "" {
		return nil
	}
	d, err := serving.StartDebug(f.addr, func(w io.Writer) {
		store.Flush()
		text.Write(w)
	})
	if err != nil {
		return err
	}
	slog.Info("debug listening", "addr", d.Addr().String())
	context.AfterFunc(ctx, func() { d.Close() })
	f.server = d
	return nil
}

// handle adds an endpoint to the debug listener, if there is one.
func (f *debugFlags) handle(path, what string, h http.Handler) {
	if f.server != nil {
		f.server.Handle(path, what, h)
	}
}
