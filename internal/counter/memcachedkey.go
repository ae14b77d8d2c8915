package counter

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// memcached refuses keys over 250 bytes or with spaces or control characters.
const memcachedMaxKey = 250

// memcachedMaxPrefix leaves room after the prefix for a hashed key.
const memcachedMaxPrefix = 64

// key maps a counter key to a memcached key: prefix+Key when that is legal,
// otherwise prefix+"#"+hex(sha256(Key)). A Key that itself starts with "#"
// is hashed too, so a plain key can never collide with a hashed one.
func (m *Memcached) key(k string) string {
	if len(m.prefix)+len(k) <= memcachedMaxKey && memcachedLegal(k) && !strings.HasPrefix(k, "#") {
		return m.prefix + k
	}
	sum := sha256.Sum256([]byte(k))
	return m.prefix + "#" + hex.EncodeToString(sum[:])
}

// memcachedPrefix keeps a legal prefix as it is and replaces any other with
// 16 hex digits of its hash, so that every key built on it stays legal.
func memcachedPrefix(p string) string {
	if len(p) <= memcachedMaxPrefix && memcachedLegal(p) {
		return p
	}
	sum := sha256.Sum256([]byte(p))
	return hex.EncodeToString(sum[:8]) + ":"
}

func memcachedLegal(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}
