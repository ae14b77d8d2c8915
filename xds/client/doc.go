// Package client is the xDS client of Floodgate's replicas and engines: it
// subscribes to the control plane's policies over ADS, applies each good
// version, NACKs a bad one with the reason and keeps the last good one.
//
// It speaks ADS itself rather than through go-control-plane's sotw client
// (pkg/client/sotw/v3) because that client's Response carries only the
// resources, not the version_info: Floodgate reports, health-checks and
// ACKs the version it serves, and a NACK must name the last good version.
// That client also holds its lock across Recv, so an ACK cannot be sent
// while the next response is awaited.
package client
