package load

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"
)

// PrintRows writes a sweep as a table, then, for every target, its
// throughput and p99 relative to the baseline's at the baseline's peak
// concurrency, then each run's first error.
func PrintRows(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tworkers\treq/s\tp50\tp90\tp99\tp99.9\terrors\tover_limit\tmissed\t")
	for _, r := range rows {
		l := &r.Result.Latency
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%v\t%v\t%v\t%v\t%d\t%d\t%d\t\n", r.Target, r.Workers, r.Result.Throughput(),
			round(l.Quantile(0.5)), round(l.Quantile(0.9)), round(l.Quantile(0.99)), round(l.Quantile(0.999)),
			r.Result.Errors, r.Result.OverLimit, r.Result.Missed)
	}
	tw.Flush()
	if peak, ok := baselinePeak(rows); ok {
		for _, r := range rows {
			if r.Workers != peak.Workers || r.Target == "baseline" {
				continue
			}
			fmt.Fprintf(w, "\nat the baseline's peak (%d workers): %s/baseline throughput %.2f, p99 %.2f\n",
				peak.Workers, r.Target, r.Result.Throughput()/peak.Result.Throughput(),
				float64(r.Result.Latency.Quantile(0.99))/float64(peak.Result.Latency.Quantile(0.99)))
		}
	}
	for _, r := range rows {
		if r.Result.FirstErr != nil {
			fmt.Fprintf(w, "%s, %d workers: first error: %v\n", r.Target, r.Workers, r.Result.FirstErr)
		}
	}
}

// baselinePeak is the baseline's run with the highest throughput.
func baselinePeak(rows []Row) (Row, bool) {
	var peak Row
	found := false
	for _, r := range rows {
		if r.Target == "baseline" && (!found || r.Result.Throughput() > peak.Result.Throughput()) {
			peak, found = r, true
		}
	}
	return peak, found
}

// WriteCSV writes a sweep to path in the columns docs/plot.sh reads.
func WriteCSV(path string, rows []Row) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(file)
	w.Write([]string{"target", "workers", "rps", "p50_us", "p90_us", "p99_us", "p999_us", "errors"})
	us := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e3, 'f', 1, 64) }
	for _, r := range rows {
		l := &r.Result.Latency
		w.Write([]string{r.Target, strconv.Itoa(r.Workers), strconv.FormatFloat(r.Result.Throughput(), 'f', 0, 64),
			us(l.Quantile(0.5)), us(l.Quantile(0.9)), us(l.Quantile(0.99)), us(l.Quantile(0.999)),
			strconv.FormatUint(r.Result.Errors, 10)})
	}
	w.Flush()
	return errors.Join(w.Error(), file.Close())
}

// round keeps a latency's three significant digits or so.
func round(d time.Duration) time.Duration {
	switch {
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d > time.Microsecond:
		return d.Round(100 * time.Nanosecond)
	}
	return d
}
