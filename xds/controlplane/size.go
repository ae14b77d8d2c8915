package controlplane

import (
	"fmt"
	"sort"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/floodgate/floodgate/xds"
)

// SizeError refuses a policy set whose xDS response would be larger than
// xds.MaxMessageBytes: no client could receive it.
type SizeError struct {
	TypeURL string
	Bytes   int // the response the policies would make
	Max     int
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("the policies would make a %d-byte (%.1f MiB) %s response, over the maximum of %d bytes (%.0f MiB)",
		e.Bytes, mib(e.Bytes), e.TypeURL, e.Max, mib(e.Max))
}

func mib(n int) float64 { return float64(n) / (1 << 20) }

// Bounds of the response fields around the resources: a version is
// "<revision>-<12 hex digits>", a nonce a stream's decimal counter.
const (
	maxVersionBytes = 20 + 1 + 12
	maxNonceBytes   = 20
)

// checkSize refuses res if the response of any of its types would pass
// xds.MaxMessageBytes.
func checkSize(res map[string][]types.Resource) error {
	typeURLs := make([]string, 0, len(res))
	for t := range res {
		typeURLs = append(typeURLs, t)
	}
	sort.Strings(typeURLs)
	for _, t := range typeURLs {
		if n := responseBytes(t, res[t]); n > xds.MaxMessageBytes {
			return &SizeError{TypeURL: t, Bytes: n, Max: xds.MaxMessageBytes}
		}
	}
	return nil
}

// responseBytes is the size of the largest DiscoveryResponse that carries
// rs as typeURL, as go-control-plane builds it: each resource marshaled
// into an Any of that type, beside the version, type URL and nonce.
func responseBytes(typeURL string, rs []types.Resource) int {
	n := field(len(typeURL)) + field(maxVersionBytes) + field(maxNonceBytes)
	for _, r := range rs {
		n += field(field(len(typeURL)) + field(proto.Size(r)))
	}
	return n
}

// field is the size of a length-delimited field of n bytes with a tag
// below 16.
func field(n int) int { return protowire.SizeTag(1) + protowire.SizeBytes(n) }
