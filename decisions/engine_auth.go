package decisions

import (
	"context"
	"crypto/x509"
	"log/slog"
	"slices"
	"strings"

	stats "github.com/lyft/gostats"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/floodgate/floodgate/decisions/enginepb"
	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/internal/tokenfile"
)

// ReplicaAuthOptions say which replicas may call an engine. With neither
// Tokens nor Subjects every caller is accepted; with both a call must pass
// both checks.
type ReplicaAuthOptions struct {
	// Tokens are the bearer tokens accepted in "authorization: Bearer <t>".
	Tokens *tokenfile.File
	// Subjects are the replicas accepted by their verified mTLS client
	// certificate: its common name, or one of its DNS or URI SANs. The
	// listener must verify client certificates (a client CA).
	Subjects []string
	// Stats receives engine.streams_refused.<reason>; discarded when nil.
	Stats  stats.Scope
	Logger *slog.Logger
}

// ReplicaAuth refuses the engine RPCs (hit and lease streams) of callers
// ReplicaAuthOptions do not name, with Unauthenticated when the caller
// proved nothing and PermissionDenied when it proved to be someone not
// listed. Other services of the listener (gRPC health) stay open to probes.
type ReplicaAuth struct {
	o       ReplicaAuthOptions
	refused map[string]stats.Counter // by reason
}

// Why a call is refused: the suffix of its engine.streams_refused counter.
const (
	refusedNoToken    = "no_token"
	refusedBadToken   = "bad_token"
	refusedNoCert     = "no_certificate"
	refusedBadSubject = "subject_not_allowed"
)

// engineMethods is the prefix of the RPCs ReplicaAuth guards.
var engineMethods = "/" + enginepb.ThrottleEngine_ServiceDesc.ServiceName + "/"

// NewReplicaAuth builds the check o describes.
func NewReplicaAuth(o ReplicaAuthOptions) *ReplicaAuth {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	sc := nullstats.Or(o.Stats).Scope("engine").Scope("streams_refused")
	a := &ReplicaAuth{o: o, refused: map[string]stats.Counter{}}
	for _, r := range []string{refusedNoToken, refusedBadToken, refusedNoCert, refusedBadSubject} {
		a.refused[r] = sc.NewCounter(r)
	}
	return a
}

// Enabled reports whether any caller can be refused.
func (a *ReplicaAuth) Enabled() bool { return a.o.Tokens != nil || len(a.o.Subjects) > 0 }

// ServerOptions put the check on a gRPC server, in front of every engine
// RPC.
func (a *ReplicaAuth) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := a.check(ss.Context(), info.FullMethod); err != nil {
				return err
			}
			return h(srv, ss)
		}),
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := a.check(ctx, info.FullMethod); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
	}
}

// check returns the status that refuses the call, nil to let it through.
func (a *ReplicaAuth) check(ctx context.Context, method string) error {
	if !strings.HasPrefix(method, engineMethods) || !a.Enabled() {
		return nil
	}
	if a.o.Tokens != nil {
		token, ok := bearer(ctx)
		switch {
		case !ok:
			return a.refuse(ctx, refusedNoToken, codes.Unauthenticated, "engine: no bearer token: start the replica with --engine-token-file")
		case !a.o.Tokens.Contains(token):
			return a.refuse(ctx, refusedBadToken, codes.Unauthenticated, "engine: the bearer token is not in the engine's --engine-token-file")
		}
	}
	if len(a.o.Subjects) > 0 {
		leaf := verifiedLeaf(ctx)
		if leaf == nil {
			return a.refuse(ctx, refusedNoCert, codes.Unauthenticated, "engine: no verified client certificate: the replica needs --engine-cert and --engine-key signed by the engine's --tls-client-ca")
		}
		if !slices.ContainsFunc(subjectsOf(leaf), func(s string) bool { return slices.Contains(a.o.Subjects, s) }) {
			return a.refuse(ctx, refusedBadSubject, codes.PermissionDenied, "engine: client certificate "+leaf.Subject.CommonName+" names no subject in --allowed-replicas")
		}
	}
	return nil
}

func (a *ReplicaAuth) refuse(ctx context.Context, reason string, code codes.Code, msg string) error {
	a.refused[reason].Inc()
	addr := ""
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		addr = p.Addr.String()
	}
	a.o.Logger.Warn("engine: call refused", "reason", reason, "peer", addr)
	return status.Error(code, msg)
}

// bearer is the token of the call's "authorization: Bearer <t>".
func bearer(ctx context.Context) (string, bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if t, ok := strings.CutPrefix(v, "Bearer "); ok && t != "" {
			return t, true
		}
	}
	return "", false
}

// verifiedLeaf is the caller's client certificate if the handshake
// verified it against the listener's client CA; nil otherwise.
func verifiedLeaf(ctx context.Context) *x509.Certificate {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return nil
	}
	return info.State.VerifiedChains[0][0]
}

// subjectsOf are the names a certificate may be listed under.
func subjectsOf(c *x509.Certificate) []string {
	names := slices.Clone(c.DNSNames)
	if c.Subject.CommonName != "" {
		names = append(names, c.Subject.CommonName)
	}
	for _, u := range c.URIs {
		names = append(names, u.String())
	}
	return names
}
