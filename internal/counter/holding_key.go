package counter

import "strings"

// HoldingKey names a global key's holding in the datacenter's store, beside
// its granted count countKey: "{tag}|dc", where tag is what a Redis Cluster
// hashes countKey by (the whole key, or its own {hash tag}), so that both
// sit in one slot, as the scripts capping the datacenter's grants touch
// both. A count key that hashes whole and has a '}' in it cannot be tagged
// so: its holding is countKey + "|dc", in one slot only on a single Redis.
func HoldingKey(countKey string) string {
	tag := clusterHashTag(countKey)
	if tag == countKey && strings.Contains(countKey, "}") {
		return countKey + "|dc"
	}
	return "{" + tag + "}|dc"
}

// clusterHashTag is the part of key a Redis Cluster hashes: between the
// first '{' and the first '}' after it when that is not empty, else all
// of key.
func clusterHashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return key
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return key
	}
	return key[i+1 : i+1+j]
}
