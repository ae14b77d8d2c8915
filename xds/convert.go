package xds

import (
	"fmt"
	"sort"
	"strings"

	rlsconf "github.com/envoyproxy/go-control-plane/ratelimit/config/ratelimit/v3"

	"github.com/floodgate/floodgate/policy"
)

// ToRateLimitConfig converts a domain's policies to the standard
// RateLimitConfig resource, named by domain, for xDS-fed rate-limit services
// that do not know Floodgate's own resource.
//
// Every unit has a RateLimitConfig equivalent (WEEK came with the module
// version envoyproxy/ratelimit itself builds with); an unknown unit is an
// error and the caller leaves the domain out. Floodgate's
// extensions (value_to_metric, share_threshold, quota_mode, metadata) have no
// field either; they are left out and listed in dropped so the caller can
// report them.
func ToRateLimitConfig(c *policy.Config) (rc *rlsconf.RateLimitConfig, dropped []string, err error) {
	seen := map[string]bool{}
	descs, err := toRateLimitDescriptors(c.Descriptors, "", seen)
	if err != nil {
		return nil, nil, fmt.Errorf("domain %q: %w", c.Domain, err)
	}
	for f := range seen {
		dropped = append(dropped, f)
	}
	sort.Strings(dropped)
	return &rlsconf.RateLimitConfig{Name: c.Domain, Domain: c.Domain, Descriptors: descs}, dropped, nil
}

func toRateLimitDescriptors(ds []policy.Descriptor, path string, dropped map[string]bool) ([]*rlsconf.RateLimitDescriptor, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	out := make([]*rlsconf.RateLimitDescriptor, 0, len(ds))
	for i := range ds {
		d := &ds[i]
		p := path + "." + d.Key
		if d.Value != "" {
			p += "_" + d.Value
		}
		p = strings.TrimPrefix(p, ".")
		rd := &rlsconf.RateLimitDescriptor{
			Key:            d.Key,
			Value:          d.Value,
			ShadowMode:     d.ShadowMode,
			DetailedMetric: d.DetailedMetric,
		}
		if d.ValueToMetric {
			dropped["value_to_metric"] = true
		}
		if d.ShareThreshold {
			dropped["share_threshold"] = true
		}
		if d.QuotaMode {
			dropped["quota_mode"] = true
		}
		if len(d.Metadata) > 0 {
			dropped["metadata"] = true
		}
		if rl := d.RateLimit; rl != nil {
			unit, err := toRateLimitUnit(rl)
			if err != nil {
				return nil, fmt.Errorf("descriptor %s: %w", p, err)
			}
			rp := &rlsconf.RateLimitPolicy{
				Unit:            unit,
				RequestsPerUnit: rl.RequestsPerUnit,
				Unlimited:       rl.Unlimited,
				Name:            rl.Name,
			}
			for _, r := range rl.Replaces {
				rp.Replaces = append(rp.Replaces, &rlsconf.RateLimitReplace{Name: r})
			}
			rd.RateLimit = rp
		}
		children, err := toRateLimitDescriptors(d.Descriptors, p, dropped)
		if err != nil {
			return nil, err
		}
		rd.Descriptors = children
		out = append(out, rd)
	}
	return out, nil
}

func toRateLimitUnit(rl *policy.RateLimit) (rlsconf.RateLimitUnit, error) {
	if rl.Unit == "" && rl.Unlimited {
		return rlsconf.RateLimitUnit_UNKNOWN, nil
	}
	u, ok := policy.ParseUnit(rl.Unit)
	if !ok {
		return 0, fmt.Errorf("unknown unit %q", rl.Unit)
	}
	switch u {
	case policy.Second:
		return rlsconf.RateLimitUnit_SECOND, nil
	case policy.Minute:
		return rlsconf.RateLimitUnit_MINUTE, nil
	case policy.Hour:
		return rlsconf.RateLimitUnit_HOUR, nil
	case policy.Day:
		return rlsconf.RateLimitUnit_DAY, nil
	case policy.Week:
		return rlsconf.RateLimitUnit_WEEK, nil
	case policy.Month:
		return rlsconf.RateLimitUnit_MONTH, nil
	case policy.Year:
		return rlsconf.RateLimitUnit_YEAR, nil
	}
	return 0, fmt.Errorf("unit %s has no RateLimitConfig equivalent", strings.ToLower(u.String()))
}

// FromRateLimitConfig converts a standard RateLimitConfig resource to the
// policy model. It does not validate: Compile does, with source in its errors.
func FromRateLimitConfig(rc *rlsconf.RateLimitConfig, source string) *policy.Config {
	domain := rc.GetDomain()
	if domain == "" {
		domain = rc.GetName()
	}
	return &policy.Config{Domain: domain, Descriptors: fromRateLimitDescriptors(rc.GetDescriptors()), Source: source}
}

func fromRateLimitDescriptors(rds []*rlsconf.RateLimitDescriptor) []policy.Descriptor {
	if len(rds) == 0 {
		return nil
	}
	out := make([]policy.Descriptor, 0, len(rds))
	for _, rd := range rds {
		d := policy.Descriptor{
			Key:            rd.GetKey(),
			Value:          rd.GetValue(),
			ShadowMode:     rd.GetShadowMode(),
			DetailedMetric: rd.GetDetailedMetric(),
			Descriptors:    fromRateLimitDescriptors(rd.GetDescriptors()),
		}
		if rp := rd.GetRateLimit(); rp != nil {
			rl := &policy.RateLimit{
				Name:            rp.GetName(),
				RequestsPerUnit: rp.GetRequestsPerUnit(),
				Unlimited:       rp.GetUnlimited(),
			}
			// UNKNOWN stays empty so that Compile reports a missing unit,
			// unless the limit is unlimited and needs none.
			if rp.GetUnit() != rlsconf.RateLimitUnit_UNKNOWN {
				rl.Unit = strings.ToLower(rp.GetUnit().String())
			}
			for _, r := range rp.GetReplaces() {
				rl.Replaces = append(rl.Replaces, r.GetName())
			}
			d.RateLimit = rl
		}
		out = append(out, d)
	}
	return out
}
