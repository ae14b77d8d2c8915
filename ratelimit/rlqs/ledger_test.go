package rlqs

import "testing"

func TestLedgerGivesBackOnlyWhatTheClientCannotSpend(t *testing.T) {
	var g ledger
	g.assign(100) // bucket A: 100
	if got, _ := g.report(30); got != 0 {
		t.Fatalf("first report gave back %d: A may still be live", got)
	}
	g.assign(50) // bucket B replaces A, which had at most 70 left
	if g.spendable() != 120 {
		t.Fatalf("spendable = %d, want 70 (A) + 50 (B)", g.spendable())
	}
	// A admitted 10 more before B arrived, B admits 5: the report says 15,
	// then one more report proves A dead.
	if got, _ := g.report(15); got != 0 {
		t.Fatalf("report crossing B gave back %d", got)
	}
	got, _ := g.report(5)
	// held: 150 debited - 50 reported = 100. After A is dead the client can
	// spend at most B's 50 less what the reports prove B admitted beyond
	// A's 70 (nothing): 50. The 50 others go back.
	if got != 50 || g.held != 50 {
		t.Fatalf("gave back %d, holds %d; want 50 and 50", got, g.held)
	}
	// Never more than was debited, whatever is reported.
	// What is admitted beyond what was debited (a fallback's admits) is
	// charged, never given back.
	if got, charge := g.report(1000); got != 0 || charge != 950 || g.held != 0 || g.spendable() != 0 {
		t.Fatalf("over-report: gave %d, charged %d, held %d, spendable %d", got, charge, g.held, g.spendable())
	}
}

func TestLedgerNewWindowKeepsTheOldBound(t *testing.T) {
	var g ledger
	g.assign(40)
	g.newWindow()
	g.assign(10)
	if g.held != 10 || g.spendable() != 50 {
		t.Fatalf("held %d spendable %d; want 10 and 50", g.held, g.spendable())
	}
	g.report(0)
	if back, _ := g.report(0); back != 0 {
		t.Fatalf("gave back %d of the new window's 10 while its bucket is full", back)
	}
	if g.vanished(3) != 7 {
		t.Fatalf("vanished(3) = %d, want 7", g.vanished(3))
	}
}
