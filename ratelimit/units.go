package ratelimit

import (
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/floodgate/floodgate/policy"
)

// responseUnit maps a policy unit to the unit of the RLS response.
func responseUnit(u policy.Unit) rlsv3.RateLimitResponse_RateLimit_Unit {
	switch u {
	case policy.Second:
		return rlsv3.RateLimitResponse_RateLimit_SECOND
	case policy.Minute:
		return rlsv3.RateLimitResponse_RateLimit_MINUTE
	case policy.Hour:
		return rlsv3.RateLimitResponse_RateLimit_HOUR
	case policy.Day:
		return rlsv3.RateLimitResponse_RateLimit_DAY
	case policy.Week:
		return rlsv3.RateLimitResponse_RateLimit_WEEK
	case policy.Month:
		return rlsv3.RateLimitResponse_RateLimit_MONTH
	case policy.Year:
		return rlsv3.RateLimitResponse_RateLimit_YEAR
	}
	return rlsv3.RateLimitResponse_RateLimit_UNKNOWN
}

// overrideUnit maps the unit of a descriptor's `limit` override (Envoy's
// RateLimitUnit, which has no WEEK) to a policy unit.
func overrideUnit(u typev3.RateLimitUnit) policy.Unit {
	switch u {
	case typev3.RateLimitUnit_SECOND:
		return policy.Second
	case typev3.RateLimitUnit_MINUTE:
		return policy.Minute
	case typev3.RateLimitUnit_HOUR:
		return policy.Hour
	case typev3.RateLimitUnit_DAY:
		return policy.Day
	case typev3.RateLimitUnit_MONTH:
		return policy.Month
	case typev3.RateLimitUnit_YEAR:
		return policy.Year
	}
	return policy.UnitUnknown
}
