//go:build race

package testkit

// RaceEnabled reports whether the tests run under the race detector, which
// slows some tests that move many megabytes past their budget.
const RaceEnabled = true
