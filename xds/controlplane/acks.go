package controlplane

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	stats "github.com/lyft/gostats"
	"google.golang.org/protobuf/proto"
)

// NodeStatus is what the control plane knows of one node.
type NodeStatus struct {
	ID       string                 `json:"id"`
	Cluster  string                 `json:"cluster,omitempty"`
	Streams  int                    `json:"streams"` // open xDS streams
	LastSeen time.Time              `json:"last_seen"`
	Types    map[string]*TypeStatus `json:"types"`
	// ControlPlane names the control plane that holds the node's stream
	// (the latest one, if it has streams on several).
	ControlPlane string `json:"control_plane,omitempty"`
	// ReportedAt is when ControlPlane last wrote this status to the
	// shared store; a node whose control plane stopped reporting expires.
	ReportedAt time.Time `json:"reported_at,omitzero"`
}

// TypeStatus is a node's state for one resource type.
type TypeStatus struct {
	// SentVersion is the last version sent to the node.
	SentVersion string `json:"sent_version,omitempty"`
	// AckedVersion is the version the node runs: the last one it accepted.
	AckedVersion string `json:"acked_version,omitempty"`
	// Nacked reports that the node rejected the last version it answered.
	Nacked bool `json:"nacked"`
	// LastError is the last error the node reported, with the version it
	// rejected (or, when Failing, could not receive); it stays after a
	// later ACK, for the record.
	LastError        string    `json:"last_error,omitempty"`
	LastErrorVersion string    `json:"last_error_version,omitempty"`
	LastErrorTime    time.Time `json:"last_error_time,omitzero"`
	Acks             uint64    `json:"acks"`
	Nacks            uint64    `json:"nacks"`
	// Failing reports that the node cannot receive the version sent: a
	// stream ended on it before the node answered, ACK or NACK. A
	// response over the node's gRPC receive limit ends that way, refused
	// by the node's gRPC library before any xDS code could NACK it. The
	// node's next answer to a version sent clears it.
	Failing bool `json:"failing"`
	// UndeliveredVersion is the version the node failed to receive and
	// UndeliveredBytes the size of the response that carried it.
	UndeliveredVersion string `json:"undelivered_version,omitempty"`
	UndeliveredBytes   int    `json:"undelivered_bytes,omitempty"`
	// Undelivered counts the streams that ended so.
	Undelivered uint64 `json:"undelivered"`
}

// AckTracker follows ACKs and NACKs per node and type, as go-control-plane
// server callbacks. It serves the status page and the xds.server.* stats.
type AckTracker struct {
	log         *slog.Logger
	scope       stats.Scope
	acks        stats.Counter
	nacks       stats.Counter
	undelivered stats.Counter
	open        stats.Gauge

	// expiry is how long a departed node stays listed.
	expiry time.Duration

	mu      sync.Mutex
	nodes   map[string]*NodeStatus
	streams map[streamKey]*streamState
}

// streamKey names a stream. go-control-plane numbers SotW and delta streams
// with two counters that both start at 1: the id alone would make the
// first delta stream take over the first SotW stream's record.
type streamKey struct {
	delta bool
	id    int64
}

func sotwStream(id int64) streamKey  { return streamKey{id: id} }
func deltaStream(id int64) streamKey { return streamKey{delta: true, id: id} }

type streamState struct {
	node string
	// sent maps a response nonce to what it carried, so that a NACK, which
	// repeats the last good version, is tied to the bad one.
	sent map[string]sentResponse
	// last is the latest response per type URL, until the node answers it:
	// a stream that ends with one left here ended on a version the node
	// never took.
	last map[string]sentResponse
}

// sentResponse is one response on a stream.
type sentResponse struct {
	nonce, version string
	bytes          int
}

var _ serverv3.Callbacks = (*AckTracker)(nil)

// NewAckTracker returns a tracker that counts in scope.
func NewAckTracker(scope stats.Scope, log *slog.Logger) *AckTracker {
	return &AckTracker{
		log:         log,
		scope:       scope,
		acks:        scope.NewCounter("ack"),
		nacks:       scope.NewCounter("nack"),
		undelivered: scope.NewCounter("undelivered"),
		open:        scope.NewGauge("streams"),
		expiry:      DefaultNodeExpiry,
		nodes:       map[string]*NodeStatus{},
		streams:     map[streamKey]*streamState{},
	}
}

// Nodes returns a copy of every node's status, sorted by ID.
func (t *AckTracker) Nodes() []NodeStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	out := make([]NodeStatus, 0, len(t.nodes))
	for id, n := range t.nodes {
		if departed(*n, now, t.expiry) {
			delete(t.nodes, id)
			continue
		}
		c := *n
		c.Types = make(map[string]*TypeStatus, len(n.Types))
		for k, v := range n.Types {
			ts := *v
			c.Types[k] = &ts
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Node returns one node's status.
func (t *AckTracker) Node(id string) (NodeStatus, bool) {
	for _, n := range t.Nodes() {
		if n.ID == id {
			return n, true
		}
	}
	return NodeStatus{}, false
}

func (t *AckTracker) openStream(id streamKey) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.streams[id] = &streamState{sent: map[string]sentResponse{}, last: map[string]sentResponse{}}
	t.open.Inc()
	return nil
}

func (t *AckTracker) closeStream(id streamKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.streams[id]
	if !ok {
		return
	}
	delete(t.streams, id)
	t.open.Dec()
	n := t.nodes[st.node]
	if n == nil {
		return
	}
	if n.Streams > 0 {
		n.Streams--
	}
	// Its expiry counts from when it left, not from its last request,
	// which on a quiet stream may be hours old.
	n.LastSeen = time.Now()
	for typeURL, r := range st.last {
		t.undeliveredLocked(n, typeURL, r)
	}
}

// undeliveredLocked records that n's stream ended on r, a response of
// typeURL that n never answered. The server cannot see why: a node whose
// gRPC receive limit is below r.bytes fails this way on every attempt.
func (t *AckTracker) undeliveredLocked(n *NodeStatus, typeURL string, r sentResponse) {
	ts := n.Types[typeURL]
	if ts == nil || ts.AckedVersion == r.version {
		return // it already runs that version: nothing was lost
	}
	ts.Failing = true
	ts.UndeliveredVersion = r.version
	ts.UndeliveredBytes = r.bytes
	ts.Undelivered++
	ts.LastError = fmt.Sprintf("the stream ended before the node answered version %s (a %d-byte response): "+
		"a node whose gRPC receive limit is smaller cannot take it", r.version, r.bytes)
	ts.LastErrorVersion = r.version
	ts.LastErrorTime = time.Now()
	t.undelivered.Inc()
	t.nodeScope(n.ID).NewCounter("undelivered").Inc()
	t.log.Warn("xds: node did not receive a version", "node", n.ID, "type", typeURL, "version", r.version, "bytes", r.bytes)
}

// request records a request; nonce names the response it answers ("" for
// the first) and errMsg is set on a NACK, for which it returns the version
// rejected.
func (t *AckTracker) request(streamID streamKey, node *core.Node, typeURL, version, nonce, errMsg string) (rejected string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.streams[streamID]
	if st == nil {
		return ""
	}
	if st.node == "" {
		if node.GetId() == "" {
			return ""
		}
		st.node = node.GetId()
		n := t.nodes[st.node]
		if n == nil {
			n = &NodeStatus{ID: st.node, Types: map[string]*TypeStatus{}}
			t.nodes[st.node] = n
		}
		n.Cluster = node.GetCluster()
		n.Streams++
	}
	n := t.nodes[st.node]
	n.LastSeen = time.Now()
	ts := n.Types[typeURL]
	if ts == nil {
		ts = &TypeStatus{}
		n.Types[typeURL] = ts
	}
	if nonce == "" {
		return "" // a subscription, not an answer
	}
	sentResp, known := st.sent[nonce]
	sent := sentResp.version
	delete(st.sent, nonce)
	if last, ok := st.last[typeURL]; ok && last.nonce == nonce {
		delete(st.last, typeURL)
	}
	if known {
		// An answer, ACK or NACK, shows the node can receive what is sent.
		ts.Failing = false
		ts.UndeliveredVersion, ts.UndeliveredBytes = "", 0
	}
	if errMsg != "" {
		ts.Nacked = true
		ts.Nacks++
		ts.LastError = errMsg
		ts.LastErrorVersion = sent
		ts.LastErrorTime = n.LastSeen
		t.nacks.Inc()
		t.nodeScope(n.ID).NewCounter("nack").Inc()
		t.log.Warn("xds: node rejected resources", "node", n.ID, "type", typeURL, "version", sent, "err", errMsg)
		return sent
	}
	if !known && version == "" {
		return ""
	}
	ts.Nacked = false
	ts.AckedVersion = version
	ts.Acks++
	t.acks.Inc()
	t.nodeScope(n.ID).NewCounter("ack").Inc()
	return ""
}

func (t *AckTracker) response(streamID streamKey, typeURL, version, nonce string, bytes int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.streams[streamID]
	if st == nil {
		return
	}
	r := sentResponse{nonce: nonce, version: version, bytes: bytes}
	st.sent[nonce] = r
	st.last[typeURL] = r
	if n := t.nodes[st.node]; n != nil {
		if ts := n.Types[typeURL]; ts != nil {
			ts.SentVersion = version
		}
	}
}

// nodeScope names a node's stats; dots would split the stat name.
func (t *AckTracker) nodeScope(id string) stats.Scope {
	return t.scope.Scope("node").Scope(strings.ReplaceAll(id, ".", "_"))
}

// OnStreamOpen implements sotw.Callbacks.
func (t *AckTracker) OnStreamOpen(_ context.Context, id int64, _ string) error {
	return t.openStream(sotwStream(id))
}

// OnStreamClosed implements sotw.Callbacks.
func (t *AckTracker) OnStreamClosed(id int64, _ *core.Node) { t.closeStream(sotwStream(id)) }

// OnStreamRequest implements sotw.Callbacks. It also keeps a NACK from
// bringing the rejected version straight back: a NACK names the last good
// version, which the cache would answer at once with the current, rejected
// one, and the node would reject it again, in a loop. Naming the rejected
// version instead makes the cache wait for a new one.
func (t *AckTracker) OnStreamRequest(id int64, req *discovery.DiscoveryRequest) error {
	rejected := t.request(sotwStream(id), req.GetNode(), req.GetTypeUrl(), req.GetVersionInfo(), req.GetResponseNonce(), req.GetErrorDetail().GetMessage())
	if rejected != "" {
		req.VersionInfo = rejected
	}
	return nil
}

// OnStreamResponse implements sotw.Callbacks.
func (t *AckTracker) OnStreamResponse(_ context.Context, id int64, req *discovery.DiscoveryRequest, resp *discovery.DiscoveryResponse) {
	t.response(sotwStream(id), resp.GetTypeUrl(), resp.GetVersionInfo(), resp.GetNonce(), proto.Size(resp))
}

// OnDeltaStreamOpen implements delta.Callbacks.
func (t *AckTracker) OnDeltaStreamOpen(_ context.Context, id int64, _ string) error {
	return t.openStream(deltaStream(id))
}

// OnDeltaStreamClosed implements delta.Callbacks.
func (t *AckTracker) OnDeltaStreamClosed(id int64, _ *core.Node) { t.closeStream(deltaStream(id)) }

// OnStreamDeltaRequest implements delta.Callbacks. A delta ACK carries no
// version: the one acknowledged is the one its nonce was sent with.
func (t *AckTracker) OnStreamDeltaRequest(id int64, req *discovery.DeltaDiscoveryRequest) error {
	version := ""
	if req.GetResponseNonce() != "" && req.GetErrorDetail() == nil {
		t.mu.Lock()
		if st := t.streams[deltaStream(id)]; st != nil {
			version = st.sent[req.GetResponseNonce()].version
		}
		t.mu.Unlock()
	}
	_ = t.request(deltaStream(id), req.GetNode(), req.GetTypeUrl(), version, req.GetResponseNonce(), req.GetErrorDetail().GetMessage())
	return nil
}

// OnStreamDeltaResponse implements delta.Callbacks.
func (t *AckTracker) OnStreamDeltaResponse(id int64, _ *discovery.DeltaDiscoveryRequest, resp *discovery.DeltaDiscoveryResponse) {
	t.response(deltaStream(id), resp.GetTypeUrl(), resp.GetSystemVersionInfo(), resp.GetNonce(), proto.Size(resp))
}

// OnFetchRequest implements rest.Callbacks.
func (t *AckTracker) OnFetchRequest(context.Context, *discovery.DiscoveryRequest) error { return nil }

// OnFetchResponse implements rest.Callbacks.
func (t *AckTracker) OnFetchResponse(*discovery.DiscoveryRequest, *discovery.DiscoveryResponse) {}
