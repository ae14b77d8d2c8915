package counter

import (
	"testing"
)

// A holding hashes to its count's Redis Cluster slot, whatever braces the
// count key carries (descriptor values are the client's).
func TestHoldingKeySharesItsCountsSlot(t *testing.T) {
	for _, k := range []string{"api_user_bob_1795957200", "api_user_{bob}_1", "api_user_a{b_1", "{a}{b}", "a{b}c}d"} {
		h := HoldingKey(k)
		if got, want := hashSlot(h), hashSlot(k); got != want {
			t.Errorf("HoldingKey(%q) = %q: slot %d, its count's %d", k, h, got, want)
		}
	}
	// A count key hashed whole with a '}' in it cannot be tagged: it keeps
	// the plain suffix.
	for _, k := range []string{"a}b", "api_user_{}x_1"} {
		if h := HoldingKey(k); h != k+"|dc" {
			t.Errorf("HoldingKey(%q) = %q", k, h)
		}
	}
}
