package metrics

import (
	"bytes"
	"testing"
)

func TestTextSink(t *testing.T) {
	s := NewTextSink()
	s.FlushCounter("ratelimit.service.rate_limit.api.remote_address.total_hits", 2)
	s.FlushCounter("ratelimit.service.rate_limit.api.remote_address.total_hits", 3)
	s.FlushGauge("lease.engines_connected", 4)
	s.FlushGauge("lease.engines_connected", 1)
	s.FlushCounter("ratelimit.service.rate_limit.api.key_freed.total_hits", 7)
	s.FlushTimer("ratelimit_server.ShouldRateLimit.response_time", 2)
	s.FlushTimer("ratelimit_server.ShouldRateLimit.response_time", 3.5)
	s.Forget("ratelimit.service.rate_limit.api.key_freed.total_hits")
	var out bytes.Buffer
	s.Write(&out)
	want := "lease.engines_connected: 1\n" +
		"ratelimit.service.rate_limit.api.remote_address.total_hits: 5\n" +
		"ratelimit_server.ShouldRateLimit.response_time: count=2 sum=5.5\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
