package faults

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// row is one case's line in the report: the table of the hardening
// issue's closing note.
type row struct {
	fault                  string
	sent, failed, timedOut int64
	admitted, limit, bound int
	recovery               time.Duration
	note                   string
}

var (
	rowsMu sync.Mutex
	rows   []row
)

func record(r row) {
	rowsMu.Lock()
	defer rowsMu.Unlock()
	rows = append(rows, r)
}

// printReport writes the cases run so far as a Markdown table.
func printReport(w io.Writer) {
	rowsMu.Lock()
	defer rowsMu.Unlock()
	fmt.Fprintln(w, "| fault or input | requests sent | failed | timed out | admitted/limit (bound) | recovery time | note |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|---:|---|")
	for _, r := range rows {
		bound := "-"
		if r.bound > 0 {
			bound = fmt.Sprint(r.bound)
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d/%d (%s) | %v | %s |\n", r.fault, r.sent, r.failed, r.timedOut,
			r.admitted, r.limit, bound, r.recovery.Round(time.Millisecond), r.note)
	}
}
