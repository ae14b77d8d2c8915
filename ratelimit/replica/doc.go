// Package replica is the replica half of the async protocol, behind
// ratelimit.Limiter: a Limiter answers from a local DecisionCache (what the
// engines have decided, and what this replica counted itself) and hands
// every hit to a HitReporter that batches them and streams them to the
// throttle engines. Nothing here waits on the network: buffers are bounded
// and what cannot be sent is dropped and counted.
//
// The package imports the RLS surface (ratelimit) and the engine's wire
// types and decision bus (decisions); neither imports it back.
package replica
