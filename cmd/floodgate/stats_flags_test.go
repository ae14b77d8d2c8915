package main

import (
	"context"
	"flag"
	"strings"
	"testing"
)

func TestStatsFlagsRejectMalformedExtraTags(t *testing.T) {
	var f statsFlags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse([]string{"--stats-extra-tags", "env:prod,broken"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--stats-extra-tags") || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("err %v, want one naming the flag and the pair", err)
	}
}

func TestStatsFlagsDefaultToUDPAndTagEveryRatelimitStat(t *testing.T) {
	var f statsFlags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse([]string{"--stats-extra-tags", "env:prod"}); err != nil {
		t.Fatal(err)
	}
	if f.protocol != "udp" {
		t.Errorf("--statsd-protocol defaults to %q, want udp", f.protocol)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, _, err := f.open(ctx); err != nil {
		t.Fatal(err)
	}
	if f.tags["env"] != "prod" {
		t.Errorf("tags %v", f.tags)
	}
}
