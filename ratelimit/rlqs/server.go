package rlqs

import (
	"log/slog"
	"sync"
	"time"

	rlqsv3 "github.com/envoyproxy/go-control-plane/envoy/service/rate_limit_quota/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	stats "github.com/lyft/gostats"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/ratelimit"
	"github.com/floodgate/floodgate/ratelimit/replica"
)

// Options configure a Server. Service and Leases are required.
type Options struct {
	// Service holds the policies in force and resolves buckets as
	// ShouldRateLimit resolves descriptors.
	Service *ratelimit.Service
	// Leases is the replica's limiter, whose leases the buckets draw on.
	Leases *replica.Limiter
	// NoRule is what a bucket that matches no counted rule gets; the zero
	// value is ALLOW_ALL.
	NoRule typev3.RateLimitStrategy_BlanketRule
	// Wait bounds how long a report's new buckets wait for the engines'
	// grants before the answer goes without them; 50ms when zero.
	Wait time.Duration
	// Interval is the reporting interval assumed until a stream's reports
	// show it; 1s when zero.
	Interval time.Duration

	Stats  stats.Scope      // stats under "rlqs"; discarded when nil
	Logger *slog.Logger     // slog.Default() when nil
	Now    func() time.Time // time.Now when nil
}

func (o Options) withDefaults() Options {
	if o.Wait <= 0 {
		o.Wait = 50 * time.Millisecond
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	o.Stats = nullstats.Or(o.Stats)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Server is the RLQS. Every stream is one holder of the replica's leases.
type Server struct {
	rlqsv3.UnimplementedRateLimitQuotaServiceServer

	o   Options
	st  serverStats
	log *slog.Logger

	mu       sync.Mutex
	streams  map[*stream]struct{}
	returns  map[*time.Timer]struct{} // vanished streams' tokens, due at their TTL
	stopping bool
	stop     chan struct{} // closed by Stop: streams end
}

// New returns a Server over o's policies and leases.
func New(o Options) *Server {
	o = o.withDefaults()
	return &Server{
		o:       o,
		st:      newServerStats(o.Stats),
		log:     o.Logger.With("component", "rlqs"),
		streams: make(map[*stream]struct{}),
		returns: make(map[*time.Timer]struct{}),
		stop:    make(chan struct{}),
	}
}

// Register serves the RLQS on g.
func (s *Server) Register(g *grpc.Server) { rlqsv3.RegisterRateLimitQuotaServiceServer(g, s) }

// StreamRateLimitQuotas serves one Envoy: it answers each usage report with
// the assignments that changed or need extending.
func (s *Server) StreamRateLimitQuotas(ss rlqsv3.RateLimitQuotaService_StreamRateLimitQuotasServer) error {
	st := s.open(ss)
	if st == nil {
		return nil
	}
	defer s.closeStream(st)
	// Recv runs apart so that Stop can end the stream; it returns once the
	// handler has, as the stream's context ends with it.
	reports := make(chan *rlqsv3.RateLimitQuotaUsageReports)
	recvErr := make(chan error, 1)
	go func() {
		for {
			r, err := ss.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case reports <- r:
			case <-ss.Context().Done():
				return
			}
		}
	}()
	// turn fires when the earliest window of the stream's token buckets
	// ends (turnover.go).
	turn := time.NewTimer(time.Hour)
	defer turn.Stop()
	turn.Stop()
	schedule := func() {
		if at := st.nextTurnover(); !at.IsZero() {
			turn.Reset(max(at.Sub(s.o.Now()), 0))
		}
	}
	policies := time.NewTicker(policyPoll)
	defer policies.Stop()
	for {
		select {
		case <-policies.C:
			if resp := st.abandonDeleted(s.o.Service.Snapshot()); len(resp.GetBucketAction()) > 0 {
				if err := st.send(resp); err != nil {
					return err
				}
			}
		case r := <-reports:
			if resp := st.report(r); len(resp.GetBucketAction()) > 0 {
				if err := st.send(resp); err != nil {
					return err
				}
			}
			schedule()
		case <-turn.C:
			if err := st.turnover(); err != nil {
				return err
			}
			schedule()
		case <-recvErr:
			return nil // the client went away: its buckets expire at their TTL
		case <-s.stop:
			return nil
		case <-ss.Context().Done():
			return nil
		}
	}
}

func (s *Server) open(ss rlqsv3.RateLimitQuotaService_StreamRateLimitQuotasServer) *stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return nil
	}
	st := &stream{s: s, ss: ss, buckets: make(map[string]*bucket), snap: s.o.Service.Snapshot()}
	s.streams[st] = struct{}{}
	s.st.streams.Inc()
	return st
}

// closeStream forgets a stream and gives its tokens back to the leases once
// its assignments' TTLs are over and the client can spend nothing more.
func (s *Server) closeStream(st *stream) {
	s.mu.Lock()
	delete(s.streams, st)
	stopping := s.stopping
	s.mu.Unlock()
	s.st.streams.Dec()
	now := s.o.Now()
	for _, b := range st.detach() {
		s.st.buckets.Dec()
		if stopping {
			continue // a stopping replica's leases go back with it
		}
		unreported := b.unreported(now)
		for _, a := range b.accts {
			if !a.leased {
				continue
			}
			give := a.ledger.vanished(unreported)
			if give == 0 {
				continue
			}
			h := a.hold
			s.after(b.sent.Add(b.ttl).Sub(now), func() {
				h.Give(give)
				s.st.tokensReturned.Add(give)
			})
		}
	}
}

// after runs f in d unless Close comes first.
func (s *Server) after(d time.Duration, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(max(d, 0), func() {
		s.mu.Lock()
		_, live := s.returns[t]
		delete(s.returns, t)
		s.mu.Unlock()
		if live {
			f()
		}
	})
	s.returns[t] = struct{}{}
}

// Stop is a planned stop's first step: every stream's assignments are sent
// again with a TTL of 0, so that each Envoy moves its buckets to their
// expired_assignment_behavior at once rather than at their TTL, and the
// streams end. Tokens due back from vanished streams stay with the
// replica, which returns what it holds when it closes.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return
	}
	s.stopping = true
	streams := make([]*stream, 0, len(s.streams))
	for st := range s.streams {
		streams = append(streams, st)
	}
	for t := range s.returns {
		t.Stop()
	}
	clear(s.returns)
	s.mu.Unlock()
	for _, st := range streams {
		st.expireAll()
	}
	close(s.stop)
}

// Streams is the streams open.
func (s *Server) Streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}
