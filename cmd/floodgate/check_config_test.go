package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/floodgate/floodgate/ratelimit"
)

func TestCheckConfigEmptyDirectoryFails(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a policy"), 0o644)
	var out, errs bytes.Buffer
	if err := checkConfig([]string{dir}, &out, &errs); !errors.Is(err, errCheckFailed) {
		t.Fatalf("err = %v, want a failed check; output %q", err, out.String())
	}
	if !strings.Contains(errs.String(), dir+": no policy file here") {
		t.Errorf("error output %q should name the directory", errs.String())
	}
}

// What envoyproxy/ratelimit tolerates passes with warnings naming
// file:line; --strict rejects it.
func TestCheckConfigWarnsUnlessStrict(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sub", "api.yaml")
	os.MkdirAll(filepath.Dir(file), 0o755)
	os.WriteFile(file, []byte("domain: api\ndescriptors:\n  - key: k\n    unit: minute\n    rate_limit: {unit: second, requests_per_unit: 1}\n"), 0o644)

	var out, errs bytes.Buffer
	if err := checkConfig([]string{dir}, &out, &errs); err != nil {
		t.Fatalf("lenient: %v %s", err, errs.String())
	}
	want := "warning: " + file + `:4:5: descriptor "k": key "unit" is ignored in a descriptor: it belongs inside rate_limit` + "\n" +
		file + ": domain \"api\", 1 rules\nok: 1 domains, 1 rules\n"
	if out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}

	out.Reset()
	err := checkConfig([]string{"--strict", dir}, &out, &errs)
	if !errors.Is(err, errCheckFailed) || !strings.Contains(errs.String(), file+`:4:5: descriptor "k": unknown key "unit"`) {
		t.Fatalf("strict: err = %v, output %q", err, errs.String())
	}
}

func TestCheckConfigMergeDomainConfig(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	os.WriteFile(a, []byte("domain: api\ndescriptors:\n  - key: x\n    rate_limit: {unit: second, requests_per_unit: 1}\n"), 0o644)
	os.WriteFile(b, []byte("domain: api\ndescriptors:\n  - key: y\n    rate_limit: {unit: second, requests_per_unit: 1}\n"), 0o644)
	var out, errs bytes.Buffer
	if err := checkConfig([]string{dir}, &out, &errs); err == nil {
		t.Fatal("a domain in two files passed without --merge-domain-config")
	}
	errs.Reset()
	if err := checkConfig([]string{"--merge-domain-config", dir}, &out, &errs); err != nil {
		t.Fatalf("merged: %v %s", err, errs.String())
	}
	if want := a + ", " + b + ": domain \"api\", 2 rules\nok: 1 domains, 2 rules\n"; out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
}

func TestResponseDynamicMetadataFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want ratelimit.MetadataMode
	}{
		{nil, ratelimit.MetadataOff},
		{[]string{"--response-dynamic-metadata"}, ratelimit.MetadataRequest},
		{[]string{"--response-dynamic-metadata=true"}, ratelimit.MetadataRequest},
		{[]string{"--response-dynamic-metadata=rules"}, ratelimit.MetadataRules},
		{[]string{"--response-dynamic-metadata=false"}, ratelimit.MetadataOff},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var f rlsFlags
		f.register(fs)
		if err := parseFlags(fs, tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if f.metadata.mode != tc.want {
			t.Errorf("%v: mode %d, want %d", tc.args, f.metadata.mode, tc.want)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	var f rlsFlags
	f.register(fs)
	if err := fs.Parse([]string{"--response-dynamic-metadata=sometimes"}); err == nil {
		t.Error("a bad value was accepted")
	}
}
