package controlplane

import (
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
)

// AllNodes is the snapshot cache key every node reads: the control plane
// serves the same policies to all nodes.
const AllNodes = "floodgate"

// allNodes maps every node to AllNodes.
type allNodes struct{}

func (allNodes) ID(*core.Node) string { return AllNodes }

// Snapshot is one version of the resources the control plane serves. Unlike
// go-control-plane's cache.Snapshot it holds any type URL, so Floodgate's own
// resource type is served by the same SnapshotCache. It is immutable.
type Snapshot struct {
	version    string
	resources  map[string]map[string]types.ResourceWithTTL
	versionMap map[string]map[string]string
}

var _ cache.ResourceSnapshot = (*Snapshot)(nil)

// NewSnapshot builds a snapshot of resources keyed by type URL; every type
// carries version. Resources are named by cache.GetResourceName.
func NewSnapshot(version string, resources map[string][]types.Resource) (*Snapshot, error) {
	s := &Snapshot{
		version:    version,
		resources:  make(map[string]map[string]types.ResourceWithTTL, len(resources)),
		versionMap: make(map[string]map[string]string, len(resources)),
	}
	for typeURL, rs := range resources {
		items := make(map[string]types.ResourceWithTTL, len(rs))
		hashes := make(map[string]string, len(rs))
		for _, r := range rs {
			name := cache.GetResourceName(r)
			items[name] = types.ResourceWithTTL{Resource: r}
			// Built now rather than in ConstructVersionMap so the snapshot
			// never changes after it is shared with the cache.
			b, err := cache.MarshalResource(r)
			if err != nil {
				return nil, err
			}
			hashes[name] = cache.HashResource(b)
		}
		s.resources[typeURL] = items
		s.versionMap[typeURL] = hashes
	}
	return s, nil
}

// Version is the snapshot's version, the same for every type.
func (s *Snapshot) Version() string { return s.version }

// GetVersion implements cache.ResourceSnapshot.
func (s *Snapshot) GetVersion(typeURL string) string {
	if s == nil {
		return ""
	}
	return s.version
}

// GetResourcesAndTTL implements cache.ResourceSnapshot.
func (s *Snapshot) GetResourcesAndTTL(typeURL string) map[string]types.ResourceWithTTL {
	if s == nil {
		return nil
	}
	return s.resources[typeURL]
}

// GetResources implements cache.ResourceSnapshot.
func (s *Snapshot) GetResources(typeURL string) map[string]types.Resource {
	if s == nil {
		return nil
	}
	items := s.resources[typeURL]
	out := make(map[string]types.Resource, len(items))
	for name, r := range items {
		out[name] = r.Resource
	}
	return out
}

// ConstructVersionMap implements cache.ResourceSnapshot; NewSnapshot already
// built it.
func (s *Snapshot) ConstructVersionMap() error { return nil }

// GetVersionMap implements cache.ResourceSnapshot.
func (s *Snapshot) GetVersionMap(typeURL string) map[string]string {
	if s == nil {
		return nil
	}
	return s.versionMap[typeURL]
}
