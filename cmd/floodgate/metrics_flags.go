package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// metricsFlags configure Prometheus' /metrics: how many series a metric
// may hold, and a listener of its own (envoyproxy/ratelimit serves
// Prometheus on PROMETHEUS_ADDR, apart from its HTTP address).
type metricsFlags struct {
	addr      string
	maxSeries int
}

func (f *metricsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "metrics-addr", "", "`host:port` of a listener serving only /metrics; empty: /metrics on the HTTP address only")
	fs.IntVar(&f.maxSeries, "metrics-max-series", 10_000, "most label sets one Prometheus metric holds; more are counted in its series whose labels are all \"other\"")
}

// start serves /metrics on --metrics-addr until ctx is done.
func (f *metricsFlags) start(ctx context.Context, metrics http.Handler) error {
	if f.addr == "" {
		return nil
	}
	lis, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 30 * time.Second}
	slog.Info("metrics listening", "addr", lis.Addr().String())
	go func() {
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			// Only a broken listener ends it early; the role serves on.
			slog.Warn("metrics listener stopped", "addr", lis.Addr().String(), "error", err)
		}
	}()
	context.AfterFunc(ctx, func() { srv.Close() })
	return nil
}
