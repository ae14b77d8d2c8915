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
		RateLimit      *yamlRateLimit   `yaml:"rate_limit,omitempty"`
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
		if rl := d.RateLimit; rl != nil {
			y.RateLimit = &yamlRateLimit{Name: rl.Name, Unit: rl.Unit, Unlimited: rl.Unlimited}
			if !rl.Unlimited || rl.RequestsPerUnit != 0 {
				rpu := rl.RequestsPerUnit
				y.RateLimit.RequestsPerUnit = &rpu
			}
			for _, name := range rl.Replaces {
				y.RateLimit.Replaces = append(y.RateLimit.Replaces, yamlReplace{Name: name})
			}
		}
		out[i] = y
	}
	return out
}
