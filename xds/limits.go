package xds

// MaxMessageBytes is the largest xDS message the control plane sends and
// its clients receive: one DiscoveryResponse carries every policy of one
// resource type, so this bounds the whole policy set. gRPC's default
// receive limit of 4 MiB was too small for large deployments and, once
// passed, cut every client off without a NACK; both sides use this value
// instead, and the control plane refuses a change that would pass it.
const MaxMessageBytes = 16 << 20
