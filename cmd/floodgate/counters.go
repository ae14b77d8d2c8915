package main

import (
	"errors"
	"fmt"

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
	if err := useMemcached(&loc, memcached); err != nil {
		return nil, err
	}
	store, err := counter.Open(loc)
	if err != nil {
		return nil, fmt.Errorf("counter store %s: %w", loc.Name(), err)
	}
	return store, nil
}

// counterName names the flags' counter store in health and logs, without
// a password.
func counterName(redisURL, memcached string) string {
	loc := counter.Location{RedisURL: redisURL}
	_ = useMemcached(&loc, memcached) // a bad value was refused at start
	return loc.Name()
}

// useMemcached points loc at the servers --memcached names: host:port,...
// or a memcached URL (memcached+srv://, memcacheds://; see
// counter.ParseMemcached). An empty value leaves loc as it is.
func useMemcached(loc *counter.Location, memcached string) error {
	if memcached == "" {
		return nil
	}
	ms, err := counter.ParseMemcached(memcached)
	if err != nil {
		return fmt.Errorf("--memcached: %w", err)
	}
	loc.UseMemcached(ms)
	return nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
