package counter

import (
	"errors"

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
	if l.Batched {
		s = NewBatching(s, BatchingOptions{})
	}
	return s, nil
}

// closingRedis closes the client the counters own along with them.
type closingRedis struct {
	*Redis
	client interface{ Close() error }
}

func (c closingRedis) Close() error { return errors.Join(c.Redis.Close(), c.client.Close()) }
