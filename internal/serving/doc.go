// Package serving runs the network face of a Floodgate role: one gRPC
// server, with the standard health service, and optionally one HTTP server,
// from listening to draining. Every role of the binary and the xDS control
// plane serve through it, so they all report a failed listener, run their
// last steps and drain the same way, within one shutdown deadline
// (Shutdown), and bound their gRPC servers the same way (GRPCLimits).
// A gRPC address may be a unix socket (ListenGRPC); a role's debug
// listener, pprof and /stats, is a DebugServer.
package serving
