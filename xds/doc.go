// Package xds holds what Floodgate's control plane (xds/controlplane) and
// its client (xds/client) share: the resource type URLs, the conversion
// between the policy model and the standard RateLimitConfig, decoding of
// received resources, and TLS file settings.
package xds
