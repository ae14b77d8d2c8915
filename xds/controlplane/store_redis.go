package controlplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/redisconn"
)

// RedisStoreOptions tunes a RedisStore; the zero value works.
type RedisStoreOptions struct {
	// Prefix starts every key. Its braces make all keys one hash slot, which
	// the scripts need on Redis Cluster. Default "{floodgate:xds}:".
	Prefix string
	// PollInterval is how often Watch reads the revision in case a change
	// notice was missed while the subscription reconnected. Default 2s.
	PollInterval time.Duration
	Logger       *slog.Logger // slog.Default() when nil
}

func (o RedisStoreOptions) withDefaults() RedisStoreOptions {
	if o.Prefix == "" {
		o.Prefix = "{floodgate:xds}:"
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// RedisStore keeps policies in Redis: a hash of YAML by domain, a hash of
// versions by domain and a revision counter, changed together by scripts so
// that concurrent writers through several control planes are serialized by
// Redis. Every write publishes the new revision so the other control planes
// reload at once.
type RedisStore struct {
	rdb        redis.UniversalClient
	opts       RedisStoreOptions
	yamlKey    string
	versionKey string
	revKey     string
	channel    string
	closeRDB   bool
}

// OpenRedisStore connects to the Redis a Floodgate Redis URL names.
func OpenRedisStore(url string) (*RedisStore, error) {
	rdb, err := redisconn.New(url)
	if err != nil {
		return nil, fmt.Errorf("redis store: %w", err)
	}
	s := NewRedisStore(rdb, RedisStoreOptions{})
	s.closeRDB = true
	return s, nil
}

// NewRedisStore uses rdb, which the caller keeps owning.
func NewRedisStore(rdb redis.UniversalClient, opts RedisStoreOptions) *RedisStore {
	opts = opts.withDefaults()
	return &RedisStore{
		rdb:        rdb,
		opts:       opts,
		yamlKey:    opts.Prefix + "yaml",
		versionKey: opts.Prefix + "version",
		revKey:     opts.Prefix + "revision",
		channel:    opts.Prefix + "changes",
	}
}

// Load implements Store. MULTI makes the three reads one revision.
func (s *RedisStore) Load(ctx context.Context) (Contents, error) {
	var rev *redis.StringCmd
	var yamls, versions *redis.MapStringStringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		rev = p.Get(ctx, s.revKey)
		yamls = p.HGetAll(ctx, s.yamlKey)
		versions = p.HGetAll(ctx, s.versionKey)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return Contents{}, fmt.Errorf("redis store: load: %w", err)
	}
	var c Contents
	if v, err := rev.Result(); err == nil {
		if c.Revision, err = strconv.ParseInt(v, 10, 64); err != nil {
			return Contents{}, fmt.Errorf("redis store: revision %q: %w", v, err)
		}
	}
	for domain, y := range yamls.Val() {
		v, err := strconv.ParseInt(versions.Val()[domain], 10, 64)
		if err != nil {
			return Contents{}, fmt.Errorf("redis store: domain %q: version: %w", domain, err)
		}
		c.Records = append(c.Records, Record{Domain: domain, YAML: y, Version: v})
	}
	sort.Slice(c.Records, func(i, j int) bool { return c.Records[i].Domain < c.Records[j].Domain })
	return c, nil
}

// KEYS: yaml hash, version hash, revision. ARGV: domain, expected, yaml, channel.
// Returns {1, revision} or {0, found version}.
var putScript = redis.NewScript(`
local found = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local expected = tonumber(ARGV[2])
if expected >= 0 and found ~= expected then return {0, found} end
local rev = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], rev)
redis.call('PUBLISH', ARGV[4], rev)
return {1, rev}
`)

// KEYS as putScript. ARGV: domain, expected, channel.
// Returns {1, revision}, {0, found version} or {-1, 0} when absent.
var deleteScript = redis.NewScript(`
local found = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if found == 0 then return {-1, 0} end
local expected = tonumber(ARGV[2])
if expected >= 0 and found ~= expected then return {0, found} end
local rev = redis.call('INCR', KEYS[3])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[3], rev)
return {1, rev}
`)

// Put implements Store.
func (s *RedisStore) Put(ctx context.Context, domain, yaml string, expected int64) (Record, error) {
	res, err := putScript.Run(ctx, s.rdb, []string{s.yamlKey, s.versionKey, s.revKey},
		domain, expected, yaml, s.channel).Int64Slice()
	if err != nil {
		return Record{}, fmt.Errorf("redis store: put %q: %w", domain, err)
	}
	if res[0] != 1 {
		return Record{}, &VersionError{Domain: domain, Expected: expected, Found: res[1]}
	}
	return Record{Domain: domain, YAML: yaml, Version: res[1]}, nil
}

// Delete implements Store.
func (s *RedisStore) Delete(ctx context.Context, domain string, expected int64) (int64, error) {
	res, err := deleteScript.Run(ctx, s.rdb, []string{s.yamlKey, s.versionKey, s.revKey},
		domain, expected, s.channel).Int64Slice()
	if err != nil {
		return 0, fmt.Errorf("redis store: delete %q: %w", domain, err)
	}
	switch res[0] {
	case -1:
		return 0, fmt.Errorf("domain %q: %w", domain, ErrNotFound)
	case 0:
		return 0, &VersionError{Domain: domain, Expected: expected, Found: res[1]}
	}
	return res[1], nil
}

// Watch implements Store: a change notice over pub/sub, plus a revision
// poll for notices lost while the subscription was reconnecting. It reports
// a change once at the start, for writes made before it subscribed.
func (s *RedisStore) Watch(ctx context.Context, changed func()) {
	sub := s.rdb.Subscribe(ctx, s.channel)
	defer sub.Close()
	// Once the subscription is in place no write can go unnoticed; one
	// before it may have, so the caller reloads once.
	if _, err := sub.Receive(ctx); err != nil && ctx.Err() == nil {
		s.opts.Logger.Warn("redis store: subscribe; polling until it recovers", "err", err)
	}
	last := s.revision(ctx)
	changed()
	msgs := sub.Channel()
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-msgs:
			if !ok {
				return
			}
			last = s.revision(ctx)
			changed()
		case <-t.C:
			if rev := s.revision(ctx); rev != last && rev >= 0 {
				last = rev
				changed()
			}
		}
	}
}

// revision reads the counter; -1 when Redis cannot be read.
func (s *RedisStore) revision(ctx context.Context) int64 {
	v, err := s.rdb.Get(ctx, s.revKey).Int64()
	if errors.Is(err, redis.Nil) {
		return 0
	}
	if err != nil {
		if ctx.Err() == nil {
			s.opts.Logger.Warn("redis store: read revision", "err", err)
		}
		return -1
	}
	return v
}

// Close implements Store; it closes the client only if OpenRedisStore made it.
func (s *RedisStore) Close() error {
	if s.closeRDB {
		return s.rdb.Close()
	}
	return nil
}
