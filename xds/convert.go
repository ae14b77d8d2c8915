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
// that do not know Floodgate's own resource. It is ToStandard without the
// list of omissions.
func ToRateLimitConfig(c *policy.Config) (rc *rlsconf.RateLimitConfig, dropped []string, err error) {
	st, err := ToStandard(c)
	return st.Config, st.Dropped, err
}

// Standard is a domain converted to the standard RateLimitConfig resource,
// with what the conversion left out.
type Standard struct {
	Config *rlsconf.RateLimitConfig
	// Dropped names each Floodgate key the domain uses that the resource
	// has no field for, sorted ("algorithm", "share_threshold", ...).
	Dropped []string
	// Omitted says, for each descriptor, what of its policy a service
	// reading the resource does not enforce, in config order:
	// "omitted: domain api descriptor user: algorithm sliding_window (served
	// as a fixed window)".
	Omitted []string
}

// ToStandard converts a domain's policies to the standard RateLimitConfig.
//
// Every unit has a RateLimitConfig equivalent (WEEK came with the module
// version envoyproxy/ratelimit itself builds with); an unknown unit is an
// error and the caller leaves the domain out. The resource carries fixed
// windows of one unit, one limit per descriptor and exact or '*' values, so
// of Floodgate's extensions:
//   - algorithm sliding_window or token_bucket is served as a fixed window
//     of the same rate, and burst is left out;
//   - unit_multiplier is left out (the proto in go.mod has no field for it):
//     the limit is served per one unit;
//   - scope: global is left out: the limit is counted per datacenter;
//   - of rate_limits the first limit is served, the others left out;
//   - a descriptor with match: cidr or regex is left out with those below
//     it: its value would be read as an exact value, or as a wildcard;
//   - value_to_metric, share_threshold, quota_mode and metadata are left out.
//
// Each is named in Dropped, and each descriptor's loss in Omitted.
func ToStandard(c *policy.Config) (Standard, error) {
	cv := converter{domain: c.Domain, dropped: map[string]bool{}}
	descs, err := cv.descriptors(c.Descriptors, "")
	if err != nil {
		return Standard{}, fmt.Errorf("domain %q: %w", c.Domain, err)
	}
	st := Standard{
		Config:  &rlsconf.RateLimitConfig{Name: c.Domain, Domain: c.Domain, Descriptors: descs},
		Omitted: cv.omitted,
	}
	for f := range cv.dropped {
		st.Dropped = append(st.Dropped, f)
	}
	sort.Strings(st.Dropped)
	return st, nil
}

type converter struct {
	domain  string
	dropped map[string]bool
	omitted []string
}

func (cv *converter) omit(path, format string, args ...any) {
	cv.omitted = append(cv.omitted, fmt.Sprintf("omitted: domain %s descriptor %s: ", cv.domain, path)+fmt.Sprintf(format, args...))
}

func (cv *converter) descriptors(ds []policy.Descriptor, path string) ([]*rlsconf.RateLimitDescriptor, error) {
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
		if kind, _ := policy.ParseMatchKind(d.Match); kind != policy.MatchExact {
			cv.dropped["match"] = true
			cv.omit(p, "match %s (the descriptor and those below it are not served)", kind)
			continue
		}
		rd := &rlsconf.RateLimitDescriptor{
			Key:            d.Key,
			Value:          d.Value,
			ShadowMode:     d.ShadowMode,
			DetailedMetric: d.DetailedMetric,
		}
		if d.ValueToMetric {
			cv.dropped["value_to_metric"] = true
		}
		if d.ShareThreshold {
			cv.dropped["share_threshold"] = true
		}
		if d.QuotaMode {
			cv.dropped["quota_mode"] = true
		}
		if len(d.Metadata) > 0 {
			cv.dropped["metadata"] = true
		}
		rl := d.RateLimit
		if len(d.RateLimits) > 0 {
			rl = &d.RateLimits[0]
			cv.dropped["rate_limits"] = true
			for _, other := range d.RateLimits[1:] {
				cv.omit(p, "rate_limits %s (only %s is served)", other.Name, rl.Name)
			}
		}
		if rl != nil {
			rp, err := cv.policy(rl, p)
			if err != nil {
				return nil, fmt.Errorf("descriptor %s: %w", p, err)
			}
			rd.RateLimit = rp
		}
		children, err := cv.descriptors(d.Descriptors, p)
		if err != nil {
			return nil, err
		}
		rd.Descriptors = children
		out = append(out, rd)
	}
	return out, nil
}

func (cv *converter) policy(rl *policy.RateLimit, path string) (*rlsconf.RateLimitPolicy, error) {
	unit, err := toRateLimitUnit(rl)
	if err != nil {
		return nil, err
	}
	if alg, ok := policy.ParseAlgorithm(rl.Algorithm); ok && alg != policy.FixedWindow {
		cv.dropped["algorithm"] = true
		cv.omit(path, "algorithm %s (served as a fixed window)", alg)
	}
	if rl.Burst != 0 {
		cv.dropped["burst"] = true
		cv.omit(path, "burst %d", rl.Burst)
	}
	if rl.UnitMultiplier > 1 {
		cv.dropped["unit_multiplier"] = true
		cv.omit(path, "unit_multiplier %d (served as windows of one %s)", rl.UnitMultiplier, strings.ToLower(rl.Unit))
	}
	if sc, ok := policy.ParseScope(rl.Scope); ok && sc != policy.ScopeDatacenter {
		cv.dropped["scope"] = true
		cv.omit(path, "scope %s (counted per datacenter)", sc)
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
	return rp, nil
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
