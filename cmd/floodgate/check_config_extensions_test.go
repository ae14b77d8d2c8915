package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// check-config passes the example of every extension, counting
// each limit of rate_limits as a rule, and names file:line and the
// descriptor for each mistake in them.
func TestCheckConfigExtensions(t *testing.T) {
	var out, errs bytes.Buffer
	if err := checkConfig([]string{"../../policy/testdata/extensions.yaml"}, &out, &errs); err != nil {
		t.Fatalf("%v: %s", err, errs.String())
	}
	if !strings.HasSuffix(out.String(), "ok: 1 domains, 8 rules\n") {
		t.Errorf("output %q", out.String())
	}

	file := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(file, []byte(`domain: bad
descriptors:
  - key: ip
    value: 10.0.0.0/33
    match: cidr
    rate_limit: {unit: second, requests_per_unit: 1}
  - key: path
    value: /v1/.*
    match: regex
    rate_limit: {unit: second, requests_per_unit: 1, burst: 3}
  - key: k
    rate_limit: {unit: minute, unit_multiplier: 0, algorithm: leaky}
    rate_limits:
      - {unit: second, name: a}
      - {unit: hour, name: a}
`), 0o644)
	out.Reset()
	errs.Reset()
	if err := checkConfig([]string{file}, &out, &errs); !errors.Is(err, errCheckFailed) {
		t.Fatalf("err = %v", err)
	}
	for _, w := range []string{
		file + `:4:12: descriptor "ip_10.0.0.0/33": invalid CIDR`,
		file + `:8:12: descriptor "path_/v1/.*": regex "/v1/.*" is not anchored`,
		file + `:10:54: descriptor "path_/v1/.*": burst needs algorithm: token_bucket`,
		file + `:12:32: descriptor "k": unit_multiplier must be at least 1`,
		file + `:12:52: descriptor "k": unknown algorithm "leaky"`,
		file + `:13:5: descriptor "k": rate_limit and rate_limits are both set`,
	} {
		if !strings.Contains(errs.String(), w) {
			t.Errorf("errors\n%s\nlack %q", errs.String(), w)
		}
	}
}
