package rlqs

import (
	"math"
	"time"

	rlqsv3 "github.com/envoyproxy/go-control-plane/envoy/service/rate_limit_quota/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

type bucketAction = rlqsv3.RateLimitQuotaResponse_BucketAction

// fillInterval is the token buckets' fill interval: Envoy refills
// tokens_per_fill (one) per fill_interval in whole seconds, so a day makes a
// bucket hold what was debited for it, give or take one token a day.
const fillInterval = 24 * time.Hour

// tokenBucket is an assignment of n tokens for ttl. odd alternates the fill
// interval's nanos between assignments: Envoy replaces (and refills) its
// bucket only when the new one differs, and takes the interval's whole
// seconds for the rate, so the nanos change nothing else.
func tokenBucket(id *rlqsv3.BucketId, n uint64, ttl time.Duration, odd bool) *bucketAction {
	fill := durationpb.New(fillInterval)
	if odd {
		fill.Nanos = 1
	}
	return assignment(id, ttl, &typev3.RateLimitStrategy{Strategy: &typev3.RateLimitStrategy_TokenBucket{
		TokenBucket: &typev3.TokenBucket{
			MaxTokens:     uint32(min(n, math.MaxUint32)),
			TokensPerFill: wrapperspb.UInt32(1),
			FillInterval:  fill,
		}}})
}

// blanket is an ALLOW_ALL or DENY_ALL assignment for ttl.
func blanket(id *rlqsv3.BucketId, rule typev3.RateLimitStrategy_BlanketRule, ttl time.Duration) *bucketAction {
	return assignment(id, ttl, &typev3.RateLimitStrategy{Strategy: &typev3.RateLimitStrategy_BlanketRule_{BlanketRule: rule}})
}

func assignment(id *rlqsv3.BucketId, ttl time.Duration, s *typev3.RateLimitStrategy) *bucketAction {
	return &bucketAction{BucketId: id, BucketAction: &rlqsv3.RateLimitQuotaResponse_BucketAction_QuotaAssignmentAction_{
		QuotaAssignmentAction: &rlqsv3.RateLimitQuotaResponse_BucketAction_QuotaAssignmentAction{
			AssignmentTimeToLive: durationpb.New(wholeSeconds(ttl)),
			RateLimitStrategy:    s,
		}}}
}

// abandon tells Envoy to forget the bucket.
func abandon(id *rlqsv3.BucketId) *bucketAction {
	return &bucketAction{BucketId: id, BucketAction: &rlqsv3.RateLimitQuotaResponse_BucketAction_AbandonAction_{
		AbandonAction: &rlqsv3.RateLimitQuotaResponse_BucketAction_AbandonAction{}}}
}

// expired is a copy of a with a TTL of 0: Envoy moves the bucket to its
// expired_assignment_behavior at once (before a planned stop).
func expired(a *bucketAction) *bucketAction {
	qa := a.GetQuotaAssignmentAction()
	if qa == nil {
		return nil
	}
	return assignment(a.GetBucketId(), 0, qa.GetRateLimitStrategy())
}

// wholeSeconds rounds d up to whole seconds: Envoy drops a TTL's nanos.
func wholeSeconds(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + time.Second - 1).Truncate(time.Second)
}
