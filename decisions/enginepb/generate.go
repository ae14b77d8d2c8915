// Package enginepb holds the generated wire types of the throttle engine:
// the ThrottleEngine hit stream and the Decision encoding used on Redis.
package enginepb

// engine.proto is edition 2023, which needs a newer compiler than many
// distributions ship; buf compiles it and runs the Go plugins from PATH
// (protoc-gen-go, protoc-gen-go-grpc).
//go:generate go run github.com/bufbuild/buf/cmd/buf@v1.75.0 generate
