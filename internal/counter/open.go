package counter

import (
	"errors"
	"net/url"
	"strings"

	"github.com/floodgate/floodgate/internal/redisconn"
)

// Location says where a process keeps its counters; the zero value keeps
// them in the process.
type Location struct {
	// RedisURL is a Floodgate Redis URL (see redisconn); the store owns the
	// client it opens and closes it with itself.
	RedisURL string
	// Memcached are memcached servers, host:port.
	Memcached []string
	// Prefix goes before every counter key.
	Prefix string
	// Batched makes concurrent Adds share round trips (see Batching). Only
	// a shared store has round trips to share; the in-process one ignores it.
	Batched bool
	// Memory configures the in-process store; the shared ones ignore it.
	Memory MemoryOptions
	// Breaker, when set, puts a shared store behind a Breaker (see
	// NewBreaker), named by Name unless it names the store itself; its
	// Timeout bounds a batch too. The in-process store ignores it. Nil: no
	// breaker (the engine guards its store itself).
	Breaker *BreakerOptions
}

// Name names the store for logs and health: the Redis URL without its
// password, the memcached servers, or "in-process".
func (l Location) Name() string {
	switch {
	case l.RedisURL != "":
		u, err := url.Parse(l.RedisURL)
		if err != nil {
			return "redis"
		}
		return u.Redacted()
	case len(l.Memcached) > 0:
		return "memcached://" + strings.Join(l.Memcached, ",")
	}
	return "in-process"
}

// Open opens the store l names: Redis, memcached, or the in-process store
// when it names neither. An error is the Redis URL's, or the two stores
// named at once.
func Open(l Location) (Store, error) {
	var s Store
	switch {
	case l.RedisURL != "" && len(l.Memcached) > 0:
		return nil, errors.New("counters: both Redis and memcached named; give one store")
	case l.RedisURL != "":
		client, err := redisconn.New(l.RedisURL)
		if err != nil {
			return nil, err
		}
		s = closingRedis{NewRedis(client, l.Prefix), client}
	case len(l.Memcached) > 0:
		s = NewMemcached(l.Memcached, l.Prefix)
	default:
		return NewMemoryWith(l.Memory), nil
	}
	p := s.(Pinger)
	var bo BatchingOptions
	if l.Breaker != nil {
		bo.Timeout = l.Breaker.withDefaults().Timeout
	}
	if l.Batched {
		s = NewBatching(s, bo)
	}
	if l.Breaker != nil {
		o := *l.Breaker
		if o.Name == "" {
			o.Name = l.Name()
		}
		s = NewBreaker(s, p, o)
	}
	return s, nil
}

// closingRedis closes the client the counters own along with them.
type closingRedis struct {
	*Redis
	client interface{ Close() error }
}

func (c closingRedis) Close() error { return errors.Join(c.Redis.Close(), c.client.Close()) }
