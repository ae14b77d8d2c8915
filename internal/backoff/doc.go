// Package backoff is the one reconnect delay every Floodgate client uses:
// hit streams to engines, decision-bus subscriptions and xDS streams.
package backoff
