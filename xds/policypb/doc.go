// Package policypb holds Floodgate's xDS policy resource,
// type.googleapis.com/floodgate.policy.v1.Policy.
package policypb

//go:generate protoc --go_out=. --go_opt=paths=source_relative policy.proto

// TypeURL is the xDS type URL of Policy.
const TypeURL = "type.googleapis.com/floodgate.policy.v1.Policy"

// GetName returns the domain: go-control-plane names resources by GetName.
func (x *Policy) GetName() string { return x.GetDomain() }
