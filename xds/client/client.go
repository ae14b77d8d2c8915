package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	stats "github.com/lyft/gostats"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/internal/tlsfiles"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/xds"
)

// Options configures a Client.
type Options struct {
	// Addrs are control-plane addresses (host:port). The client uses one at
	// a time and moves to the next when it fails.
	Addrs []string
	// NodeID names this process to the control plane (its status page and
	// stats); Cluster optionally groups nodes.
	NodeID, Cluster string
	// TypeURL is the resource to subscribe to: xds.PolicyType (default), which
	// carries every policy feature, or xds.RateLimitConfigType.
	TypeURL string
	// TLS secures the connection; set CertFile and KeyFile for mTLS. The zero
	// value is plaintext. Rotated files are re-read on the next handshake.
	TLS tlsfiles.Files
	// Apply receives every new valid version, compiled. It is called from
	// the client's goroutine, one call at a time.
	Apply func(*policy.Snapshot)
	// Reject, if set, is told of every version rejected (and NACKed), for
	// the owner's own stats; the version in force stays.
	Reject func(error)
	// Backoff spaces connection attempts; 100ms doubling to 10s when zero.
	Backoff backoff.Backoff
	// MaxReceiveBytes is the largest response the client takes: one
	// response carries every policy. Default xds.MaxMessageBytes, the most
	// the control plane sends; a smaller limit makes a larger version fail
	// on this client, which the control plane's status page reports.
	MaxReceiveBytes int
	// Stats receives the xds.client.* metrics. Default: discarded.
	Stats  stats.Scope
	Logger *slog.Logger // slog.Default() when nil
}

func (o Options) withDefaults() Options {
	if o.TypeURL == "" {
		o.TypeURL = xds.PolicyType
	}
	if o.Backoff.Max <= 0 {
		o.Backoff.Max = 10 * time.Second
	}
	if o.MaxReceiveBytes <= 0 {
		o.MaxReceiveBytes = xds.MaxMessageBytes
	}
	o.Stats = nullstats.Or(o.Stats)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Client subscribes to the control plane's policies over ADS. Each version
// it receives is converted and compiled; a valid one is applied and ACKed,
// an invalid one NACKed with the reason while the last good version stays
// in force. It keeps that version while no control plane is reachable.
type Client struct {
	opts  Options
	log   *slog.Logger
	creds credentials.TransportCredentials

	applied   stats.Counter
	rejected  stats.Counter
	failures  stats.Counter
	connected stats.Gauge

	cur       atomic.Pointer[applied]
	ready     chan struct{}
	readyOnce sync.Once

	startOnce sync.Once
	cancel    context.CancelFunc
	done      chan struct{}
}

type applied struct {
	version  string
	snapshot *policy.Snapshot
}

// NewClient checks opts; Start connects.
func New(opts Options) (*Client, error) {
	if len(opts.Addrs) == 0 {
		return nil, errors.New("xds client: no control-plane address")
	}
	if opts.NodeID == "" {
		return nil, errors.New("xds client: no node ID")
	}
	if opts.Apply == nil {
		return nil, errors.New("xds client: no Apply function")
	}
	opts = opts.withDefaults()
	if opts.TypeURL != xds.PolicyType && opts.TypeURL != xds.RateLimitConfigType {
		return nil, fmt.Errorf("xds client: unknown resource type %q", opts.TypeURL)
	}
	creds := insecure.NewCredentials()
	if opts.TLS.Enabled() {
		var err error
		if creds, err = opts.TLS.ClientCredentials(tlsfiles.Options{Stats: opts.Stats, Logger: opts.Logger}); err != nil {
			return nil, fmt.Errorf("xds client: %w", err)
		}
	}
	scope := opts.Stats.Scope("xds").Scope("client")
	return &Client{
		opts:      opts,
		creds:     creds,
		log:       opts.Logger.With("node", opts.NodeID),
		applied:   scope.NewCounter("update.applied"),
		rejected:  scope.NewCounter("update.rejected"),
		failures:  scope.NewCounter("connect.failed"),
		connected: scope.NewGauge("connected"),
		ready:     make(chan struct{}),
		done:      make(chan struct{}),
	}, nil
}

// Start runs the client in its own goroutine until ctx is done or Close.
func (c *Client) Start(ctx context.Context) {
	c.startOnce.Do(func() {
		ctx, c.cancel = context.WithCancel(ctx)
		go func() {
			defer close(c.done)
			c.run(ctx)
		}()
	})
}

// Close stops the client and waits for it.
func (c *Client) Close() error {
	c.startOnce.Do(func() { close(c.done) }) // never started
	if c.cancel != nil {
		c.cancel()
	}
	<-c.done
	return nil
}

// Ready is closed once the first version is applied.
func (c *Client) Ready() <-chan struct{} { return c.ready }

// Version is the version in force; "" before the first.
func (c *Client) Version() string {
	if a := c.cur.Load(); a != nil {
		return a.version
	}
	return ""
}

// Snapshot is the policy snapshot in force; nil before the first.
func (c *Client) Snapshot() *policy.Snapshot {
	if a := c.cur.Load(); a != nil {
		return a.snapshot
	}
	return nil
}

func (c *Client) run(ctx context.Context) {
	attempt := 0
	for i := 0; ctx.Err() == nil; i++ {
		addr := c.opts.Addrs[i%len(c.opts.Addrs)]
		progressed, err := c.session(ctx, addr)
		if ctx.Err() != nil {
			return
		}
		if progressed {
			attempt = 0
		}
		c.failures.Inc()
		wait := c.opts.Backoff.Delay(attempt)
		attempt++
		if status.Code(err) == codes.ResourceExhausted {
			// The same version fails again on every attempt: say why.
			c.log.Error("xds client: a version is larger than this client's receive limit; keeping the policies in force",
				"addr", addr, "err", err, "max_receive_bytes", c.opts.MaxReceiveBytes, "retry_in", wait, "version", c.Version())
		} else {
			c.log.Warn("xds client: control plane unavailable; keeping the policies in force",
				"addr", addr, "err", err, "retry_in", wait, "version", c.Version())
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// session holds one ADS stream to addr until it fails. progressed reports
// that it received at least one response.
func (c *Client) session(ctx context.Context, addr string) (progressed bool, err error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(c.creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(c.opts.MaxReceiveBytes)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}))
	if err != nil {
		return false, err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return false, err
	}
	node := &core.Node{Id: c.opts.NodeID, Cluster: c.opts.Cluster}
	req := &discovery.DiscoveryRequest{Node: node, TypeUrl: c.opts.TypeURL, VersionInfo: c.Version()}
	if err := stream.Send(req); err != nil {
		return false, err
	}
	c.connected.Set(1)
	defer c.connected.Set(0)
	for {
		resp, err := stream.Recv()
		if err != nil {
			return progressed, err
		}
		progressed = true
		ack := &discovery.DiscoveryRequest{Node: node, TypeUrl: c.opts.TypeURL, ResponseNonce: resp.GetNonce()}
		if err := c.update(resp); err != nil {
			c.rejected.Inc()
			if c.opts.Reject != nil {
				c.opts.Reject(err)
			}
			c.log.Error("xds client: policies rejected; keeping the version in force",
				"version", resp.GetVersionInfo(), "in_force", c.Version(), "err", err)
			ack.VersionInfo = c.Version()
			ack.ErrorDetail = &rpcstatus.Status{Code: int32(codes.InvalidArgument), Message: err.Error()}
		} else {
			ack.VersionInfo = resp.GetVersionInfo()
		}
		if err := stream.Send(ack); err != nil {
			return progressed, err
		}
	}
}

// update converts, compiles and applies one response.
func (c *Client) update(resp *discovery.DiscoveryResponse) error {
	if resp.GetTypeUrl() != c.opts.TypeURL {
		return fmt.Errorf("version %s: type %s, want %s", resp.GetVersionInfo(), resp.GetTypeUrl(), c.opts.TypeURL)
	}
	if cur := c.cur.Load(); cur != nil && cur.version == resp.GetVersionInfo() {
		return nil // a reconnect resends the version in force
	}
	configs, err := xds.Decode(resp.GetResources())
	if err != nil {
		return fmt.Errorf("version %s: %w", resp.GetVersionInfo(), err)
	}
	snap, err := policy.Compile(configs)
	if err != nil {
		return fmt.Errorf("version %s: %w", resp.GetVersionInfo(), err)
	}
	c.opts.Apply(snap)
	c.cur.Store(&applied{version: resp.GetVersionInfo(), snapshot: snap})
	c.applied.Inc()
	c.readyOnce.Do(func() { close(c.ready) })
	c.log.Info("xds client: policies applied", "version", resp.GetVersionInfo(), "domains", len(configs))
	return nil
}
