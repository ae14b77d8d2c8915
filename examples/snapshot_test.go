package examples

import (
	"io/fs"
	"testing"
)

// Every embedded example compiles, and each one's domain is served.
func TestSnapshot(t *testing.T) {
	snap, err := Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(Policies, "policies/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded policies: %v, %v", files, err)
	}
	if len(snap.Configs()) != len(files) || !snap.HasDomain("api") {
		t.Fatalf("snapshot has %d domains (%v) from %d files, want one per file with api among them",
			len(snap.Configs()), snap.Domains(), len(files))
	}
}
