// Package xds is Floodgate's control plane and its client. The Server serves
// rate-limit policies over xDS (ADS, state of the world and delta) through
// go-control-plane's SnapshotCache, as Floodgate's own Policy resource and as
// the standard RateLimitConfig resource; the policies come from watched YAML
// files and an admin REST API backed by a durable Store. The Client
// subscribes to them and hands each good version to its owner.
package xds
