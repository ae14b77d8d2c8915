// Package flow holds no code, only the test that keeps Floodgate's imports
// running with the flow of the design: policy at the bottom, then the xDS
// client, the RLS, the replica side of the async protocol, and the engine
// with its decision bus; the control plane and the shared infrastructure
// beside them. A package that imports against that flow fails the test.
package flow
