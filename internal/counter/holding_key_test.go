package counter

import (
	"strings"
	"testing"
)

// A holding hashes to its count's Redis Cluster slot, whatever braces the
// count key carries (descriptor values are the client's).
func TestHoldingKeySharesItsCountsSlot(t *testing.T) {
	for _, k := range []string{"api_user_bob_1795957200", "api_user_{bob}_1", "api_user_a{b_1", "{a}{b}", "a{b}c}d"} {
		h := HoldingKey(k)
		if got, want := clusterSlot(h), clusterSlot(k); got != want {
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

// slot is a key's Redis Cluster slot as the cluster specification defines
// it: CRC16 (XMODEM) of its hash tag, or of the key, modulo 16384.
func clusterSlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}
