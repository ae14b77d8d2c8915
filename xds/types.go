package xds

import (
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/floodgate/floodgate/xds/policypb"
)

// Type URLs of the resources the control plane serves and clients read.
const (
	// PolicyType is Floodgate's own resource, one floodgate.policy.v1.Policy
	// per domain: it carries every policy feature.
	PolicyType = policypb.TypeURL
	// RateLimitConfigType is the standard resource of xDS-fed rate-limit
	// services, one ratelimit.config.ratelimit.v3.RateLimitConfig per domain.
	RateLimitConfigType = resource.RateLimitConfigType
)
