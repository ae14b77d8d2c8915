// Package controlplane is Floodgate's xDS control plane: a Server serves
// rate-limit policies over ADS (state of the world and delta) through
// go-control-plane's SnapshotCache, as Floodgate's own Policy resource and as
// the standard RateLimitConfig; tracks every node's ACKs and NACKs; and
// takes policies from watched files and an admin REST API backed by a
// durable Store. Replicas and engines never link it: they use xds/client.
package controlplane
