package policy

import (
	"strconv"
	"strings"
)

// Error is one problem found in a policy source.
type Error struct {
	Source       string // file name or other origin ("xds:node-1"); may be empty
	Line, Column int    // 1-based; 0 when unknown
	Descriptor   string // descriptor path ("a_b.c"); empty for document-level problems
	Problem      string
}

// Error formats as `source:line:col: descriptor "a_b.c": problem`, leaving
// out the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteByte(':')
		if e.Column > 0 {
			b.WriteString(strconv.Itoa(e.Column))
			b.WriteByte(':')
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Descriptor != "" {
		b.WriteString("descriptor ")
		b.WriteString(strconv.Quote(e.Descriptor))
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// Errors is every problem found by one Parse, Load or Compile, in the order
// found. Its Error is one problem per line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As reach each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// err returns es as an error, or a true nil when there is nothing to report
// (a nil Errors inside an error interface would not compare equal to nil).
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// position is where something sits in a YAML source. invalid marks a field
// that was written but could not be read: its error is already reported, so
// later checks must not report it again as missing.
type position struct {
	line, col int
	invalid   bool
}
