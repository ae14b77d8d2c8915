// Package enginepb holds the generated wire types of the throttle engine:
// the ThrottleEngine hit stream and the Decision encoding used on Redis.
package enginepb

//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative engine.proto
