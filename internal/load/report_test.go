package load

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fixedResult(n uint64, lat time.Duration) *Result {
	r := &Result{Requests: n, Elapsed: time.Second}
	for range n {
		r.Latency.Record(lat)
	}
	return r
}

func TestPrintRowsRatios(t *testing.T) {
	var out bytes.Buffer
	PrintRows(&out, []Row{
		{"baseline", 8, fixedResult(1000, time.Millisecond)}, {"floodgate-async", 8, fixedResult(900, 1100*time.Microsecond)},
		{"baseline", 16, fixedResult(800, time.Millisecond)}, {"floodgate-async", 16, fixedResult(800, time.Millisecond)},
	})
	if !strings.Contains(out.String(), "at the baseline's peak (8 workers): floodgate-async/baseline throughput 0.90, p99 1.10") {
		t.Fatalf("ratio line missing:\n%s", out.String())
	}
}

func TestWriteCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.csv")
	rows := []Row{{"baseline", 4, fixedResult(1000, 250*time.Microsecond)}}
	if err := WriteCSV(path, rows); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || strings.Join(got[0], ",") != "target,workers,rps,p50_us,p90_us,p99_us,p999_us,errors" ||
		got[1][0] != "baseline" || got[1][1] != "4" || got[1][2] != "1000" || got[1][7] != "0" {
		t.Fatalf("csv = %v", got)
	}
}
