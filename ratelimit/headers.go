package ratelimit

import (
	"math"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"

	"github.com/floodgate/floodgate/policy"
)

// HeaderOptions control the RateLimit-* response headers that Envoy adds to
// the client's response (response_headers_to_add).
type HeaderOptions struct {
	Enabled   bool
	Limit     string // default "RateLimit-Limit"
	Remaining string // default "RateLimit-Remaining"
	Reset     string // default "RateLimit-Reset"
	// Policy names the IETF RateLimit-Policy header, which lists every
	// limit that applied ("10;w=60, 1000;w=3600"); "" leaves it out.
	Policy string
}

func (h HeaderOptions) withDefaults() HeaderOptions {
	if h.Limit == "" {
		h.Limit = "RateLimit-Limit"
	}
	if h.Remaining == "" {
		h.Remaining = "RateLimit-Remaining"
	}
	if h.Reset == "" {
		h.Reset = "RateLimit-Reset"
	}
	return h
}

// add reports one descriptor's limit, chosen as envoyproxy/ratelimit's
// minimumDescriptor (src/service/ratelimit.go): the last descriptor that
// denies the request (denied, -1 for none), else the first with the fewest
// requests remaining. A quota descriptor over its limit denies nothing: it
// competes by what it has left, 0.
func (h HeaderOptions) add(resp *rlsv3.RateLimitResponse, denied int) {
	if !h.Enabled {
		return
	}
	var tightest *rlsv3.RateLimitResponse_DescriptorStatus
	least := uint32(math.MaxUint32)
	var policies []string
	for _, st := range resp.Statuses {
		if st.CurrentLimit == nil {
			continue
		}
		if st.LimitRemaining < least {
			tightest, least = st, st.LimitRemaining
		}
		if h.Policy != "" {
			window := windowSeconds(st.CurrentLimit.Unit) * int64(max(st.CurrentLimit.GetUnitMultiplier().GetValue(), 1))
			policies = append(policies, strconv.FormatUint(uint64(st.CurrentLimit.RequestsPerUnit), 10)+";w="+strconv.FormatInt(window, 10))
		}
	}
	if denied >= 0 {
		tightest = resp.Statuses[denied]
	}
	if tightest == nil {
		return
	}
	// duration_until_reset is whole seconds, as envoyproxy/ratelimit sends it.
	reset := tightest.GetDurationUntilReset().GetSeconds()
	resp.ResponseHeadersToAdd = append(resp.ResponseHeadersToAdd,
		header(h.Limit, strconv.FormatUint(uint64(tightest.CurrentLimit.RequestsPerUnit), 10)),
		header(h.Remaining, strconv.FormatUint(uint64(tightest.LimitRemaining), 10)),
		header(h.Reset, strconv.FormatInt(reset, 10)),
	)
	if len(policies) > 0 {
		resp.ResponseHeadersToAdd = append(resp.ResponseHeadersToAdd, header(h.Policy, strings.Join(policies, ", ")))
	}
}

func header(k, v string) *corev3.HeaderValue { return &corev3.HeaderValue{Key: k, Value: v} }

// windowSeconds is the window length of a response unit, in seconds.
func windowSeconds(u rlsv3.RateLimitResponse_RateLimit_Unit) int64 {
	for pu := policy.Second; pu <= policy.Year; pu++ {
		if responseUnit(pu) == u {
			return pu.Seconds()
		}
	}
	return 0
}
