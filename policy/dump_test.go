package policy

import (
	"strings"
	"testing"
)

func TestWriteDumpIsEnvoyRatelimitFormat(t *testing.T) {
	s, err := ParseSnapshot("t.yaml", []byte(`domain: mongo_cps
descriptors:
  - key: database
    value: users
    rate_limit: {unit: second, requests_per_unit: 500}
  - key: database
    value: default
    shadow_mode: true
    quota_mode: true
    rate_limit: {unit: week, requests_per_unit: 7}
  - key: client
    descriptors:
      - key: path
        rate_limit: {unlimited: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteDump(&b, s); err != nil {
		t.Fatal(err)
	}
	want := `mongo_cps.database_users: unit=SECOND requests_per_unit=500, shadow_mode: false, quota_mode: false
mongo_cps.database_default: unit=WEEK requests_per_unit=7, shadow_mode: true, quota_mode: true
mongo_cps.client.path: unit=UNKNOWN requests_per_unit=0, shadow_mode: false, quota_mode: false
`
	if b.String() != want {
		t.Errorf("dump\n%s\nwant\n%s", b.String(), want)
	}
}
