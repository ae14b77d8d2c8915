package main

import (
	"reflect"
	"testing"
)

func TestURLListFlagKeepsHostLists(t *testing.T) {
	tests := []struct {
		values []string
		want   []string
	}{
		{[]string{"redis://a:1"}, []string{"redis://a:1"}},
		{[]string{"redis://a:1,redis://b:2"}, []string{"redis://a:1", "redis://b:2"}},
		{[]string{"redis://a:1, rediss://b:2,"}, []string{"redis://a:1", "rediss://b:2"}},
		{[]string{"redis+sentinel://h1:26379,h2:26379/master"}, []string{"redis+sentinel://h1:26379,h2:26379/master"}},
		{[]string{"redis+cluster://h1,h2,h3,redis://b:2"}, []string{"redis+cluster://h1,h2,h3", "redis://b:2"}},
		{[]string{"redis+cluster://h1,h2", "unix:///run/r.sock?db=1"}, []string{"redis+cluster://h1,h2", "unix:///run/r.sock?db=1"}},
		{[]string{""}, nil},
	}
	for _, tt := range tests {
		l := urlListFlag{}
		for _, v := range tt.values {
			_ = l.Set(v)
		}
		if got := l.urls(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: urls() = %q, want %q", tt.values, got, tt.want)
		}
	}
}
