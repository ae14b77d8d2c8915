package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"release", debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "false"}}},
			"floodgate v1.2.3 (0123456789ab)"},
		{"dirty checkout", debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261129061410-075a0e27f2d0+dirty"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "075a0e27f2d0aaaa"}, {Key: "vcs.modified", Value: "true"}}},
			"floodgate v0.0.0-20261129061410-075a0e27f2d0+dirty (075a0e27f2d0+dirty)"},
		{"no vcs", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "floodgate (devel) (unknown revision)"},
	} {
		if got := versionLine(&tc.bi); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// `floodgate --version` and `floodgate version` print the version and
// exit 0 instead of starting to serve.
func TestVersionCommand(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		if code := run(context.Background(), args); code != 0 {
			t.Errorf("floodgate %s: exit %d", strings.Join(args, " "), code)
		}
	}
	var out bytes.Buffer
	if err := writeVersion(&out); err != nil || !strings.HasPrefix(out.String(), "floodgate ") {
		t.Errorf("version: %q %v", out.String(), err)
	}
}
