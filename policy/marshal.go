package policy

import (
	"bytes"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// The YAML shapes Marshal writes; field order is the order of the output.
type (
	yamlDoc struct {
		Domain      string           `yaml:"domain"`
		Descriptors []yamlDescriptor `yaml:"descriptors,omitempty"`
	}
	yamlDescriptor struct {
		Key            string           `yaml:"key"`
		Value          string           `yaml:"value,omitempty"`
		Match          string           `yaml:"match,omitempty"`
		RateLimit      *yamlRateLimit   `yaml:"rate_limit,omitempty"`
		RateLimits     []yamlRateLimit  `yaml:"rate_limits,omitempty"`
		ShadowMode     bool             `yaml:"shadow_mode,omitempty"`
		DetailedMetric bool             `yaml:"detailed_metric,omitempty"`
		ValueToMetric  bool             `yaml:"value_to_metric,omitempty"`
		ShareThreshold bool             `yaml:"share_threshold,omitempty"`
		QuotaMode      bool             `yaml:"quota_mode,omitempty"`
		Metadata       any              `yaml:"metadata,omitempty"` // any: an empty map is still written
		Descriptors    []yamlDescriptor `yaml:"descriptors,omitempty"`
	}
	yamlRateLimit struct {
		Name            string        `yaml:"name,omitempty"`
		Unit            string        `yaml:"unit,omitempty"`
		RequestsPerUnit *uint32       `yaml:"requests_per_unit,omitempty"`
		Unlimited       bool          `yaml:"unlimited,omitempty"`
		Algorithm       string        `yaml:"algorithm,omitempty"`
		Burst           uint32        `yaml:"burst,omitempty"`
		UnitMultiplier  uint32        `yaml:"unit_multiplier,omitempty"`
		Scope           string        `yaml:"scope,omitempty"`
		Replaces        []yamlReplace `yaml:"replaces,omitempty"`
	}
	yamlReplace struct {
		Name string `yaml:"name"`
	}
)

// Marshal writes a Config as YAML in the envoyproxy/ratelimit format, which
// Parse reads back to the same Config (positions aside). requests_per_unit
// is written whenever the rule is not unlimited, even when 0.
func Marshal(c *Config) ([]byte, error) {
	if c == nil {
		return nil, errors.New("policy: marshal: nil config")
	}
	doc := yamlDoc{Domain: c.Domain, Descriptors: toYAML(c.Descriptors)}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("policy: marshal domain %q: %w", c.Domain, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("policy: marshal domain %q: %w", c.Domain, err)
	}
	return buf.Bytes(), nil
}

func toYAML(ds []Descriptor) []yamlDescriptor {
	if len(ds) == 0 {
		return nil
	}
	out := make([]yamlDescriptor, len(ds))
	for i, d := range ds {
		y := yamlDescriptor{
			Key:            d.Key,
			Value:          d.Value,
			Match:          d.Match,
			ShadowMode:     d.ShadowMode,
			DetailedMetric: d.DetailedMetric,
			ValueToMetric:  d.ValueToMetric,
			ShareThreshold: d.ShareThreshold,
			QuotaMode:      d.QuotaMode,
			Descriptors:    toYAML(d.Descriptors),
		}
		if d.Metadata != nil {
			y.Metadata = d.Metadata
		}
		if d.RateLimit != nil {
			y.RateLimit = rateLimitYAML(d.RateLimit)
		}
		for j := range d.RateLimits {
			y.RateLimits = append(y.RateLimits, *rateLimitYAML(&d.RateLimits[j]))
		}
		out[i] = y
	}
	return out
}

func rateLimitYAML(rl *RateLimit) *yamlRateLimit {
	y := &yamlRateLimit{Name: rl.Name, Unit: rl.Unit, Unlimited: rl.Unlimited,
		Algorithm: rl.Algorithm, Burst: rl.Burst, UnitMultiplier: rl.UnitMultiplier, Scope: rl.Scope}
	if !rl.Unlimited || rl.RequestsPerUnit != 0 {
		rpu := rl.RequestsPerUnit
		y.RequestsPerUnit = &rpu
	}
	for _, name := range rl.Replaces {
		y.Replaces = append(y.Replaces, yamlReplace{Name: name})
	}
	return y
}
