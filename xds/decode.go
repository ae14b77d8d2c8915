package xds

import (
	"errors"
	"fmt"

	rlsconf "github.com/envoyproxy/go-control-plane/ratelimit/config/ratelimit/v3"
	"github.com/floodgate/floodgate/policy"
	"github.com/floodgate/floodgate/xds/policypb"
	"google.golang.org/protobuf/types/known/anypb"
)

// Decode converts xDS resources, Policy or RateLimitConfig, to the policy
// model. It parses but does not compile.
func Decode(resources []*anypb.Any) ([]*policy.Config, error) {
	var errs []error
	configs := make([]*policy.Config, 0, len(resources))
	for _, a := range resources {
		switch a.GetTypeUrl() {
		case PolicyType:
			var p policypb.Policy
			if err := a.UnmarshalTo(&p); err != nil {
				errs = append(errs, fmt.Errorf("Policy: %w", err))
				continue
			}
			name := "xds:" + p.GetDomain()
			if p.GetSource() != "" {
				name += " (" + p.GetSource() + ")"
			}
			cfg, err := policy.Parse(name, []byte(p.GetYaml()))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if cfg.Domain != p.GetDomain() {
				errs = append(errs, fmt.Errorf("%s: the YAML defines domain %q", name, cfg.Domain))
				continue
			}
			cfg.Source = name
			configs = append(configs, cfg)
		case RateLimitConfigType:
			var rc rlsconf.RateLimitConfig
			if err := a.UnmarshalTo(&rc); err != nil {
				errs = append(errs, fmt.Errorf("RateLimitConfig: %w", err))
				continue
			}
			configs = append(configs, FromRateLimitConfig(&rc, "xds:"+rc.GetName()))
		default:
			errs = append(errs, fmt.Errorf("unexpected resource type %s", a.GetTypeUrl()))
		}
	}
	return configs, errors.Join(errs...)
}
