package counter

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	gostats "github.com/lyft/gostats"

	"github.com/floodgate/floodgate/internal/redisconn"
)

// Location says where a process keeps its counters; the zero value keeps
// them in the process.
type Location struct {
	// RedisURL is a Floodgate Redis URL (see redisconn); the store owns the
	// client it opens and closes it with itself.
	RedisURL string
	// PerSecondRedisURL, with RedisURL, keeps the counters of one-second
	// windows in a Redis of their own (see BySecond), behind their own
	// batching and breaker.
	PerSecondRedisURL string
	// Memcached are memcached servers, host:port.
	Memcached []string
	// MemcachedSRV, MemcachedSRVRefresh, MemcachedTLS and SRVResolver are
	// MemcachedServers' (see ParseMemcached); MemcachedSRV instead of
	// Memcached.
	MemcachedSRV        string
	MemcachedSRVRefresh time.Duration
	MemcachedTLS        *tls.Config
	SRVResolver         SRVResolver
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
	// PoolStats, when set, is the scope of the Redis client's pool stats,
	// as envoyproxy/ratelimit names them: redis_pool.cx_active, cx_total,
	// cx_local_close, and redis_per_second_pool.* for the per-second Redis
	// (see redisconn.CountConnections). Nil: none.
	PoolStats gostats.Scope
	perSecond bool // the per-second Redis of openBySecond
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
	case l.MemcachedSRV != "":
		return "memcached+srv://" + l.MemcachedSRV
	}
	return "in-process"
}

// Open opens the store l names: Redis, memcached, or the in-process store
// when it names neither. An error is the Redis URL's, or the two stores
// named at once.
func Open(l Location) (Store, error) {
	if l.PerSecondRedisURL != "" {
		return openBySecond(l)
	}
	var s Store
	switch {
	case l.RedisURL != "" && (len(l.Memcached) > 0 || l.MemcachedSRV != ""):
		return nil, errors.New("counters: both Redis and memcached named; give one store")
	case l.RedisURL != "":
		client, err := redisconn.New(l.RedisURL)
		if err != nil {
			return nil, err
		}
		if l.PoolStats != nil {
			pool := "redis_pool"
			if l.perSecond {
				pool = "redis_per_second_pool"
			}
			redisconn.CountConnections(client, l.PoolStats.Scope(pool))
		}
		s = closingRedis{NewRedis(client, l.Prefix), client}
	case len(l.Memcached) > 0 || l.MemcachedSRV != "":
		m, err := OpenMemcached(MemcachedServers{Addrs: l.Memcached, SRV: l.MemcachedSRV,
			SRVRefresh: l.MemcachedSRVRefresh, Resolver: l.SRVResolver, TLS: l.MemcachedTLS}, l.Prefix)
		if err != nil {
			return nil, err
		}
		s = m
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

// openBySecond opens l's Redis and its per-second Redis, each as Open
// would alone, and splits the counters between them.
func openBySecond(l Location) (Store, error) {
	if l.RedisURL == "" {
		return nil, errors.New("counters: a per-second Redis needs the main Redis too")
	}
	perSecond := l
	perSecond.RedisURL, perSecond.PerSecondRedisURL = l.PerSecondRedisURL, ""
	perSecond.perSecond = true
	l.PerSecondRedisURL = ""
	if perSecond.Breaker != nil {
		// Its own name and stats (per_second.counter_down, ...), so that
		// logs, health and dashboards tell the two apart.
		o := *perSecond.Breaker
		o.Name = perSecond.Name()
		if o.Stats != nil {
			o.Stats = o.Stats.Scope("per_second")
		}
		perSecond.Breaker = &o
	}
	sec, err := Open(perSecond)
	if err != nil {
		return nil, fmt.Errorf("per-second %w", err)
	}
	other, err := Open(l)
	if err != nil {
		sec.Close()
		return nil, err
	}
	return &BySecond{PerSecond: sec, Other: other}, nil
}
