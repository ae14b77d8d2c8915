package client

import (
	"context"
	"fmt"
	"time"

	"github.com/floodgate/floodgate/xds"
)

// TypeURLNamed maps the names a user gives a resource type (--xds-type) to
// its type URL: "floodgate" for Floodgate's own Policy, "standard" for
// RateLimitConfig.
func TypeURLNamed(name string) (string, error) {
	switch name {
	case "floodgate":
		return xds.PolicyType, nil
	case "standard":
		return xds.RateLimitConfigType, nil
	}
	return "", fmt.Errorf("resource type %q: want floodgate or standard", name)
}

// WaitReady waits up to d for the first version to be in force and reports
// whether it is. A process that starts with no version serves without
// limits until one arrives, so it waits a little rather than not at all.
func (c *Client) WaitReady(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.ready:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}
