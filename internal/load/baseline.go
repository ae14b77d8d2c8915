package load

import (
	"context"
	"net"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
)

// Baseline is the reference point of `floodgate bench`: an RLS that
// answers every request OK without looking at it, so that its throughput
// and latency are those of the gRPC stack alone.
type Baseline struct {
	rlsv3.UnimplementedRateLimitServiceServer
}

// ShouldRateLimit answers OK with one OK status per descriptor.
func (Baseline) ShouldRateLimit(_ context.Context, req *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error) {
	resp := &rlsv3.RateLimitResponse{
		OverallCode: rlsv3.RateLimitResponse_OK,
		Statuses:    make([]*rlsv3.RateLimitResponse_DescriptorStatus, len(req.GetDescriptors())),
	}
	for i := range resp.Statuses {
		resp.Statuses[i] = &rlsv3.RateLimitResponse_DescriptorStatus{Code: rlsv3.RateLimitResponse_OK}
	}
	return resp, nil
}

// StartBaseline serves a Baseline on addr ("127.0.0.1:0" picks a port)
// until stop is called.
func StartBaseline(addr string, opts ...grpc.ServerOption) (bound string, stop func(), err error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	g := grpc.NewServer(opts...)
	rlsv3.RegisterRateLimitServiceServer(g, Baseline{})
	go g.Serve(lis)
	return lis.Addr().String(), g.Stop, nil
}
