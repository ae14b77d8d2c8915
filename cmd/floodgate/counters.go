package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/floodgate/floodgate/internal/counter"
)

// openCounters opens the counter store the flags name: Redis, memcached, or
// the in-process store when neither is given.
// memoryBytes bounds the in-process store.
func openCounters(redisURL, memcached, prefix string, memoryBytes int) (counter.Store, error) {
	if redisURL != "" && memcached != "" {
		return nil, errors.New("--redis and --memcached: give one counter store, not both")
	}
	loc := counter.Location{RedisURL: redisURL, Prefix: prefix,
		Memory: counter.MemoryOptions{MaxBytes: memoryBytes}}
	if memcached != "" {
		loc.Memcached = strings.Split(memcached, ",")
	}
	store, err := counter.Open(loc)
	if err != nil {
		return nil, fmt.Errorf("--redis: %w", err)
	}
	return store, nil
}

// counterName names the flags' counter store in health and logs, without
// a password.
func counterName(redisURL, memcached string) string {
	loc := counter.Location{RedisURL: redisURL}
	if memcached != "" {
		loc.Memcached = strings.Split(memcached, ",")
	}
	return loc.Name()
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
