package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/ratelimit"
)

// rlsStreamWorkers is the pool of goroutines that run RLS calls. A call
// that finds every worker busy gets a goroutine of its own, whose stack
// grows from scratch: the pool is sized for the calls Envoy keeps in
// flight, not for the cores.
const rlsStreamWorkers = 256

// rlsServerOptions tune the gRPC server of the RLS for many small unary
// calls: responses marshalled by generated code, and reused goroutines.
func rlsServerOptions(extra ...grpc.ServerOption) []grpc.ServerOption {
	return append([]grpc.ServerOption{
		grpc.ForceServerCodecV2(ratelimit.Codec{}),
		grpc.NumStreamWorkers(rlsStreamWorkers),
	}, extra...)
}

// rlsHealthInterval is how often gRPC health re-reads the RLS's health.
const rlsHealthInterval = time.Second

// serveRLS puts the RLS on a role's servers; its gRPC health follows
// /healthcheck until ctx is done.
func serveRLS(ctx context.Context, srv *serving.Server, svc *ratelimit.Service, health ratelimit.Health, metrics http.Handler) {
	svc.Register(srv.GRPC)
	go svc.FollowHealth(ctx, srv.Health, health, rlsHealthInterval)
	srv.Mux.Handle("/", svc.HTTPHandler(health))
	srv.Mux.Handle("GET /metrics", metrics)
}

// listenAndServe binds a role's addresses and serves srv on them until ctx
// is done.
func listenAndServe(ctx context.Context, srv *serving.Server, grpcAddr, httpAddr string) error {
	lis, err := serving.Listen(grpcAddr, httpAddr)
	if err != nil {
		return err
	}
	defer lis.Close()
	return serve(ctx, srv, lis)
}

// serve serves srv on lis until ctx is done, saying where.
func serve(ctx context.Context, srv *serving.Server, lis serving.Listeners) error {
	slog.Info("grpc listening", "addr", lis.GRPC.Addr().String())
	if lis.HTTP != nil {
		slog.Info("http listening", "addr", lis.HTTP.Addr().String())
	}
	return srv.Serve(ctx, lis)
}
