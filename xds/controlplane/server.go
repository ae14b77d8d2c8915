package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	rlsconfigservice "github.com/envoyproxy/go-control-plane/ratelimit/service/ratelimit/v3"
	stats "github.com/lyft/gostats"
	"google.golang.org/grpc"

	"github.com/floodgate/floodgate/internal/globallink"
	"github.com/floodgate/floodgate/internal/nullstats"
	"github.com/floodgate/floodgate/internal/serving"
	"github.com/floodgate/floodgate/internal/tlsfiles"
	"github.com/floodgate/floodgate/internal/tokenfile"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/xds"
	"github.com/floodgate/floodgate/xds/policypb"
)

// ServerOptions configures a Server; the zero value serves an empty,
// in-memory policy set with admin writes disabled.
type ServerOptions struct {
	// Paths are policy files and directories, reloaded when they change.
	Paths []string
	// Load says which files of Paths are read and how (policy.LoadWith);
	// the zero value reads *.yaml and *.yml files strictly.
	Load policy.LoadOptions
	// WatchInterval is how often Paths are checked for changes. Default 1s.
	WatchInterval time.Duration
	// DropGuard refuses a start on Paths that hold no policy, a reload of
	// Paths that removes too many of their domains, and an admin delete of
	// the last domain served; the zero value is policy's default.
	DropGuard policy.DropGuard
	// Store keeps the policies written through the admin API. Default: a
	// MemoryStore, which a restart empties.
	Store Store
	// AdminToken authorizes admin API writes sent with
	// "Authorization: Bearer <AdminToken>". A client certificate verified
	// against AdminTLS.CAFile authorizes them too. With neither, the admin
	// API is read-only.
	AdminToken string
	// AdminTokens, if set, also authorizes writes: any token of the file,
	// which is re-read when it changes.
	AdminTokens *tokenfile.File
	// TLS secures the xDS gRPC listener of Serve; with a CAFile, clients
	// must present a certificate it signed (mTLS), naming ClientSAN if set.
	// Rotated files are re-read.
	TLS tlsfiles.Files
	// AdminTLS secures the HTTP listener of Serve; with a CAFile, a client
	// certificate is verified if offered and then authorizes writes.
	AdminTLS tlsfiles.Files
	// Stats receives the xds.server.* metrics. Default: discarded.
	Stats  stats.Scope
	Logger *slog.Logger
	// Metrics, if set, is served at GET /metrics beside the admin API.
	Metrics http.Handler
	// Routes are more read-only pages on the HTTP address, by ServeMux
	// pattern ("/ui/" the dashboard, "GET /v1/throttles"); the caller
	// builds them, so this package imports none of their sources.
	Routes map[string]http.Handler
	// Limits bound Serve's gRPC server (streams, calls in flight, message
	// size, keepalive, connection age); Shutdown is the deadline its stop
	// shares. Zero: serving's defaults.
	Limits   serving.GRPCLimits
	Shutdown *serving.Shutdown
	// Name names this control plane among those sharing Store, on the
	// status page and in the audit log. Default: host name and process id.
	Name string
	// NodeExpiry is how long a node that left, or whose control plane
	// stopped reporting it, stays on the status page. Default
	// DefaultNodeExpiry.
	NodeExpiry time.Duration
	// NodeReportInterval is how often this control plane's nodes are
	// written to Store for the others to show. Default: NodeExpiry/10,
	// at most 5s.
	NodeReportInterval time.Duration
	// AuditEntries bounds the audit log. Default DefaultAuditEntries.
	AuditEntries int
	// Datacenters, if set, reads the datacenters' links to the global
	// tier for each status (globallink.Read on the global Redis); its
	// error is shown, never fails the status.
	Datacenters func(ctx context.Context) ([]globallink.Datacenter, error)
}

func (o ServerOptions) withDefaults() ServerOptions {
	if o.WatchInterval <= 0 {
		o.WatchInterval = time.Second
	}
	if o.Store == nil {
		o.Store = NewMemoryStore()
	}
	o.Stats = nullstats.Or(o.Stats)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Name == "" {
		o.Name = defaultControlPlaneName()
	}
	if o.NodeExpiry <= 0 {
		o.NodeExpiry = DefaultNodeExpiry
	}
	if o.NodeReportInterval <= 0 {
		o.NodeReportInterval = min(o.NodeExpiry/10, 5*time.Second)
	}
	if o.AuditEntries <= 0 {
		o.AuditEntries = DefaultAuditEntries
	}
	return o
}

// Server is the control plane: it merges file and admin policies into
// versioned snapshots and serves them to every node.
type Server struct {
	opts    ServerOptions
	log     *slog.Logger
	cache   cache.SnapshotCache
	xds     serverv3.Server
	acks    *AckTracker
	ctx     context.Context // ends the xDS streams
	cancel  context.CancelFunc
	updated stats.Counter
	failed  stats.Counter
	// auditFailed counts admin writes stored but not in the audit log.
	auditFailed stats.Counter
	scope       stats.Scope // xds.server, for the admin API's counts

	build sync.Mutex // serializes rebuild

	mu    sync.Mutex // guards state
	state state

	datacenters datacentersRead
}

// state is what the control plane currently serves and why.
type state struct {
	files     []*policy.Config // last good load of Paths
	fileErr   error            // last failed load of Paths, nil once one succeeds
	contents  Contents         // last good read of the store
	parsed    map[string]parsedRecord
	configs   []*policy.Config // served, sorted by domain
	sources   map[string]domainSource
	version   string
	buildErr  error // last failed rebuild, nil once one succeeds
	omitted   map[string]string
	dropped   map[string][]string
	omissions []string
	updatedAt time.Time
}

type parsedRecord struct {
	version int64
	config  *policy.Config
}

type domainSource struct {
	Source    string // "admin" or the file
	ETag      int64  // store version; 0 for a file-only domain
	Overrides string // the file an admin policy overrides
}

// AdminSource is the Config.Source of policies written through the admin API.
const AdminSource = "admin"

// NewServer loads the policy files and the store once and builds the first
// snapshot; it fails if either cannot be read or the policies are invalid.
func NewServer(ctx context.Context, opts ServerOptions) (*Server, error) {
	opts = opts.withDefaults()
	scope := opts.Stats.Scope("xds").Scope("server")
	s := &Server{
		opts:        opts,
		log:         opts.Logger,
		cache:       cache.NewSnapshotCache(false, allNodes{}, nil),
		acks:        NewAckTracker(scope, opts.Logger),
		scope:       scope,
		updated:     scope.NewCounter("snapshot.updated"),
		failed:      scope.NewCounter("snapshot.rejected"),
		auditFailed: scope.NewCounter("audit.failed"),
	}
	s.acks.expiry = opts.NodeExpiry
	s.state.parsed = map[string]parsedRecord{}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.xds = serverv3.NewServer(s.ctx, s.cache, s.acks)
	if len(opts.Paths) > 0 {
		snap, err := policy.LoadSnapshotWith(opts.Load, opts.Paths...)
		if err != nil {
			return nil, err
		}
		files := snap.Configs()
		s.warn(snap)
		if err := opts.DropGuard.CheckStart(opts.Paths, files); err != nil {
			return nil, err
		}
		s.state.files = files
	}
	if err := s.rebuild(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// GRPCServerOptions are the options of the gRPC server that serves xDS
// (Register), TLS and Limits aside: the message size clients are promised.
// Clients hold one stream open for hours: the keepalives of Limits find
// dead ones.
func (s *Server) GRPCServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		// A response over this fails on the server, where the status page
		// shows it, rather than in every client; rebuild refuses policies
		// that would pass it.
		grpc.MaxSendMsgSize(xds.MaxMessageBytes),
	}
}

// Register adds the aggregated discovery service and the RateLimitConfig
// discovery service to g.
func (s *Server) Register(g *grpc.Server) {
	discovery.RegisterAggregatedDiscoveryServiceServer(g, s.xds)
	rlsconfigservice.RegisterRateLimitConfigDiscoveryServiceServer(g, s.xds)
}

// Cache is the snapshot cache the server serves from, under the key
// AllNodes. Setting a snapshot there bypasses validation; the next policy
// change replaces it.
func (s *Server) Cache() cache.SnapshotCache { return s.cache }

// Acks is the per-node ACK/NACK record.
func (s *Server) Acks() *AckTracker { return s.acks }

// Version is the version of the snapshot being served.
func (s *Server) Version() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.version
}

// Run follows the policy files and the store, rebuilding the snapshot on
// every change, until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if len(s.opts.Paths) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			policy.WatchWith(ctx, policy.WatchOptions{Paths: s.opts.Paths, Load: s.opts.Load, Interval: s.opts.WatchInterval, Guard: s.opts.DropGuard,
				InForce: s.fileDomains()}, s.filesLoaded, s.filesRejected)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.opts.Store.Watch(ctx, func() { _ = s.rebuild(ctx) })
	}()
	if ns, ok := s.opts.Store.(NodeStore); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.reportNodes(ctx, ns)
		}()
	}
	wg.Wait()
	return nil
}

// Close ends every open xDS stream.
func (s *Server) Close() { s.cancel() }

// fileDomains names the domains of the policy files in force, sorted; not
// nil, as NewServer loaded them.
func (s *Server) fileDomains() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.state.files))
	for _, c := range s.state.files {
		out = append(out, c.Domain)
	}
	sort.Strings(out)
	return out
}

func (s *Server) filesLoaded(snap *policy.Snapshot) {
	s.warn(snap)
	s.mu.Lock()
	s.state.files = snap.Configs()
	s.state.fileErr = nil
	s.mu.Unlock()
	_ = s.rebuild(s.ctx)
}

// warn logs what a lenient load of the files tolerated.
func (s *Server) warn(snap *policy.Snapshot) {
	for _, w := range snap.Warnings() {
		s.log.Warn("xds: policy file accepted with a warning", "warning", w.Error())
	}
}

func (s *Server) filesRejected(err error) {
	s.log.Error("xds: policy files rejected; serving the last good version", "err", err)
	s.failed.Inc()
	s.mu.Lock()
	s.state.fileErr = err
	s.mu.Unlock()
}

// rebuild reads the store, merges it with the files and, if the result is
// valid and differs from what is served, serves it as a new snapshot. On
// failure the served snapshot stays.
func (s *Server) rebuild(ctx context.Context) error {
	s.build.Lock()
	defer s.build.Unlock()
	err := s.rebuildLocked(ctx)
	if err != nil {
		s.failed.Inc()
		s.log.Error("xds: policies not updated; serving the last good version", "err", err)
	}
	s.mu.Lock()
	s.state.buildErr = err
	s.mu.Unlock()
	return err
}

func (s *Server) rebuildLocked(ctx context.Context) error {
	contents, err := s.opts.Store.Load(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	files, parsed := s.state.files, s.state.parsed
	s.mu.Unlock()

	nextParsed, err := parseRecords(contents.Records, parsed)
	if err != nil {
		return err
	}
	configs, sources := merge(files, contents.Records, nextParsed)
	if _, err := policy.CompileWith(configs, s.opts.Load.CompileOptions); err != nil {
		return err
	}
	res, standard, err := buildResources(configs)
	if err != nil {
		return err
	}
	if err := checkSize(res); err != nil {
		return err
	}
	version := fmt.Sprintf("%d-%s", contents.Revision, hashResources(res))

	// Rebuilds without a change are common (a replica's store notice of its
	// own write, a file touched): they serve nothing new.
	s.mu.Lock()
	same := version == s.state.version
	s.mu.Unlock()
	if !same {
		snap, err := NewSnapshot(version, res)
		if err != nil {
			return err
		}
		if err := s.cache.SetSnapshot(ctx, AllNodes, snap); err != nil {
			return fmt.Errorf("serve version %s: %w", version, err)
		}
		s.updated.Inc()
		s.log.Info("xds: serving policies", "version", version, "domains", len(configs))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.contents = contents
	s.state.parsed = nextParsed
	s.state.configs = configs
	s.state.sources = sources
	s.state.omitted = standard.omitted
	s.state.dropped = standard.dropped
	s.state.omissions = standard.omissions
	s.state.version = version
	if !same {
		s.state.updatedAt = time.Now()
	}
	return nil
}

// parseRecords parses the store's records, reusing those already parsed at
// the same version.
func parseRecords(records []Record, prev map[string]parsedRecord) (map[string]parsedRecord, error) {
	out := make(map[string]parsedRecord, len(records))
	var errs []error
	for _, r := range records {
		if p, ok := prev[r.Domain]; ok && p.version == r.Version {
			out[r.Domain] = p
			continue
		}
		c, err := policy.Parse(adminName(r.Domain), []byte(r.YAML))
		if err != nil {
			errs = append(errs, fmt.Errorf("stored policy: %w", err))
			continue
		}
		c.Source = AdminSource
		out[r.Domain] = parsedRecord{version: r.Version, config: c}
	}
	return out, errors.Join(errs...)
}

// adminName names an admin policy in errors.
func adminName(domain string) string { return "admin:" + domain }

// merge combines file and admin policies. The rule: a domain written through
// the admin API replaces a file's domain of the same name; deleting it
// through the API brings the file's version back.
func merge(files []*policy.Config, records []Record, parsed map[string]parsedRecord) ([]*policy.Config, map[string]domainSource) {
	byDomain := map[string]*policy.Config{}
	sources := map[string]domainSource{}
	for _, c := range files {
		byDomain[c.Domain] = c
		sources[c.Domain] = domainSource{Source: c.Source}
	}
	for _, r := range records {
		p, ok := parsed[r.Domain]
		if !ok {
			continue
		}
		ds := domainSource{Source: AdminSource, ETag: r.Version}
		if f, ok := byDomain[r.Domain]; ok {
			ds.Overrides = f.Source
		}
		byDomain[r.Domain] = p.config
		sources[r.Domain] = ds
	}
	out := make([]*policy.Config, 0, len(byDomain))
	for _, c := range byDomain {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out, sources
}

// buildResources makes one Policy and, where the standard type can express
// it, one RateLimitConfig per domain.
func buildResources(configs []*policy.Config) (map[string][]types.Resource, standardLoss, error) {
	res := map[string][]types.Resource{xds.PolicyType: {}, xds.RateLimitConfigType: {}}
	loss := standardLoss{omitted: map[string]string{}, dropped: map[string][]string{}}
	for _, c := range configs {
		y, err := policy.Marshal(c)
		if err != nil {
			return nil, standardLoss{}, fmt.Errorf("domain %q: %w", c.Domain, err)
		}
		res[xds.PolicyType] = append(res[xds.PolicyType], &policypb.Policy{Domain: c.Domain, Yaml: string(y), Source: c.Source})
		st, err := xds.ToStandard(c)
		if err != nil {
			loss.omitted[c.Domain] = err.Error()
			continue
		}
		if len(st.Dropped) > 0 {
			loss.dropped[c.Domain] = st.Dropped
		}
		loss.omissions = append(loss.omissions, st.Omitted...)
		res[xds.RateLimitConfigType] = append(res[xds.RateLimitConfigType], st.Config)
	}
	return res, loss, nil
}

// standardLoss is what the RateLimitConfig resources leave out: domains
// (omitted, with the reason), Floodgate keys per domain (dropped), and
// each descriptor's loss (omissions), as /v1/status shows them.
type standardLoss struct {
	omitted   map[string]string
	dropped   map[string][]string
	omissions []string
}

// hashResources fingerprints the served content, so that replicas of the
// control plane reading the same store and files name it the same.
func hashResources(res map[string][]types.Resource) string {
	h := sha256.New()
	typeURLs := make([]string, 0, len(res))
	for t := range res {
		typeURLs = append(typeURLs, t)
	}
	sort.Strings(typeURLs)
	for _, t := range typeURLs {
		rs := append([]types.Resource(nil), res[t]...)
		sort.Slice(rs, func(i, j int) bool { return cache.GetResourceName(rs[i]) < cache.GetResourceName(rs[j]) })
		fmt.Fprintf(h, "%s\n", t)
		for _, r := range rs {
			b, _ := cache.MarshalResource(r) // the same resources marshal again in NewSnapshot, which reports errors
			fmt.Fprintf(h, "%s %d\n", cache.GetResourceName(r), len(b))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
