package replica

import (
	"testing"
	"time"

	"github.com/floodgate/floodgate/decisions/enginepb"
)

// A grant that answers a holder's ask is kept for it: the replica's own
// requests spend only what is over, and a return takes both.
func TestGrantIsReservedForTheHoldersWaiting(t *testing.T) {
	l := &lease{limit: 100}
	l.holdWaiting.Store(6)
	l.apply(&enginepb.Grant{Status: enginepb.Grant_OK, Tokens: 10, Remaining: 50}, time.Now())
	if l.reserved.Load() != 6 || l.tokens.Load() != 4 {
		t.Fatalf("reserved %d, free %d; want 6 for the holder, 4 for requests", l.reserved.Load(), l.tokens.Load())
	}
	if take(&l.tokens, 5) {
		t.Fatal("a request spent a token reserved for a holder")
	}
	if l.held() != 10 || l.globalRemaining() != 60 {
		t.Fatalf("held %d, global remaining %d; want 10 and 60", l.held(), l.globalRemaining())
	}
	if got := l.takeHeld(); got != 10 || l.held() != 0 {
		t.Fatalf("a return took %d, left %d", got, l.held())
	}
}
