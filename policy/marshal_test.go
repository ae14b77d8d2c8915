package policy

import (
	"reflect"
	"strings"
	"testing"
)

func TestMarshalRoundTrips(t *testing.T) {
	tests := []struct {
		name string
		c    *Config
	}{
		{"parsed example", mustParse(t, fullExample)},
		{"built in code", &Config{Domain: "xds", Descriptors: []Descriptor{
			{Key: "a", Value: "*", ShareThreshold: true, RateLimit: &RateLimit{Unit: "SECOND", RequestsPerUnit: 0}},
			{Key: "123", Value: "true", RateLimit: &RateLimit{Unlimited: true}},
			{Key: "b", Descriptors: []Descriptor{
				{Key: "c", Value: "x: y", RateLimit: &RateLimit{Name: "n", Unit: "day", RequestsPerUnit: 4294967295, Replaces: []string{"m"}}, Metadata: map[string]any{}},
				{Key: "c", RateLimit: &RateLimit{Name: "m", Unit: "day", RequestsPerUnit: 1}},
			}},
		}}},
		{"empty domain body", &Config{Domain: "empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Marshal(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse("out.yaml", out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !reflect.DeepEqual(stripConfig(back), stripConfig(tt.c)) {
				t.Errorf("round trip changed the config\n got %+v\nwant %+v\nyaml:\n%s", back, tt.c, out)
			}
		})
	}
}

func TestMarshalFormat(t *testing.T) {
	out, err := Marshal(&Config{Domain: "d", Descriptors: []Descriptor{
		{Key: "k", Value: "v", RateLimit: &RateLimit{Unit: "second", RequestsPerUnit: 5, Replaces: []string{"o"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := `domain: d
descriptors:
  - key: k
    value: v
    rate_limit:
      unit: second
      requests_per_unit: 5
      replaces:
        - name: o
`
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if _, err := Marshal(nil); err == nil || !strings.Contains(err.Error(), "nil config") {
		t.Errorf("Marshal(nil) error = %v", err)
	}
}

func mustParse(t testing.TB, src string) *Config {
	t.Helper()
	c, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stripConfig clears what only a parse sets, for comparing configs.
func stripConfig(c *Config) Config {
	out := *c
	out.Source, out.domainAt = "", position{}
	out.Descriptors = nil
	for _, d := range c.Descriptors {
		out.Descriptors = append(out.Descriptors, stripPositions(d))
	}
	return out
}
