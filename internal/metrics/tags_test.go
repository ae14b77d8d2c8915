package metrics

import (
	"reflect"
	"testing"
)

func TestTagsRoundTrip(t *testing.T) {
	tags, err := ParseTags("env:prod, az:us-east-1.a,empty:x")
	if err != nil {
		t.Fatal(err)
	}
	suffix := TagSuffix(tags)
	if want := ".__az=us-east-1_a.__empty=x.__env=prod"; suffix != want {
		t.Errorf("suffix %q, want %q", suffix, want)
	}
	name, got := SplitTags("ratelimit.x.total_hits" + suffix)
	if name != "ratelimit.x.total_hits" || !reflect.DeepEqual(got, []string{"az:us-east-1_a", "empty:x", "env:prod"}) {
		t.Errorf("split: %q %q", name, got)
	}
	if _, err := ParseTags("env"); err == nil {
		t.Error("a tag without a value is accepted")
	}
}
