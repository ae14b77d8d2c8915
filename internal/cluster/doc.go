// Package cluster starts a whole Floodgate async deployment inside one
// process, on loopback ports: throttle engines serving gRPC, RLS replicas
// (ratelimit.Service answering from a replica.Limiter) serving gRPC, and the
// decision bus between them: over Redis when given broker URLs, in memory
// otherwise.
//
// It is the one harness for everything that needs more than one role at
// once: the integration tests, the benchmarks and `floodgate bench
// --accuracy`. Tests drive its Clock across a window boundary instead of
// sleeping to a wall-clock second, and stop and restart engines to show
// what a crash does; clustertest adds a Redis of the test's own that the
// test can stop and start.
package cluster
