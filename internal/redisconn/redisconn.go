// Package redisconn turns Floodgate's Redis URL into a go-redis client. The
// same URL form serves exact-mode counting, the throttle engine and the
// decision bus, so a deployment names its Redis one way everywhere.
//
//	redis://[user:pass@]host:port[/db]
//	rediss://[user:pass@]host:port[/db]                      TLS
//	redis+sentinel://[user:pass@]h1:p1,h2:p2/master[/db]     Sentinel (rediss+sentinel: TLS)
//	redis+cluster://[user:pass@]h1:p1,h2:p2                  Cluster (rediss+cluster: TLS)
//	unix://[user:pass@]/path/to/redis.sock[?db=N]            a Unix socket
//
// Query parameters: pool_size, dial_timeout, read_timeout (a Go duration such
// as 500ms, or whole seconds), tls_ca, tls_cert, tls_key, tls_insecure,
// tls_skip_hostname_verification, tls_server_name (TLS schemes only),
// sentinel_username, sentinel_password (Sentinel only), db (unix only).
package redisconn

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/floodgate/floodgate/internal/tlsfiles"
)

// New parses s and returns a client for it. It does not dial: the first
// command connects, and go-redis reconnects on its own after a failure.
func New(s string) (redis.UniversalClient, error) {
	opts, err := ParseURL(s)
	if err != nil {
		return nil, err
	}
	return redis.NewUniversalClient(opts), nil
}

type mode int

const (
	single mode = iota
	sentinel
	cluster
	unixSocket
)

// schemes maps each URL scheme to the topology and whether it uses TLS.
var schemes = map[string]struct {
	mode mode
	tls  bool
}{
	"redis":           {single, false},
	"rediss":          {single, true},
	"redis+sentinel":  {sentinel, false},
	"rediss+sentinel": {sentinel, true},
	"redis+cluster":   {cluster, false},
	"rediss+cluster":  {cluster, true},
	"unix":            {unixSocket, false},
}

// ParseURL parses a Floodgate Redis URL into go-redis options. Errors name
// the part of the URL that is wrong and never contain a password.
func ParseURL(s string) (*redis.UniversalOptions, error) {
	opts, err := parse(s)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	return opts, nil
}

func parse(s string) (*redis.UniversalOptions, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return nil, errors.New(`scheme: missing "://"`)
	}
	kind, ok := schemes[scheme]
	if !ok && strings.ContainsAny(scheme, ":@") {
		return nil, errors.New("scheme: missing or malformed") // may hold a password
	}
	if !ok {
		return nil, fmt.Errorf("scheme %q: want redis, rediss, redis+sentinel, rediss+sentinel, redis+cluster, rediss+cluster or unix", scheme)
	}
	// Passwords may hold "@" and "/" as typed, so the host starts after the
	// last "@"; "?" and "%" in a password must be %-escaped.
	rest, rawQuery, _ := strings.Cut(rest, "?")
	if firstKey, _, _ := strings.Cut(rawQuery, "="); strings.Contains(firstKey, "@") {
		return nil, errors.New(`password: "?" must be %-escaped as %3F`)
	}
	hostStart := strings.LastIndex(rest, "@") + 1
	authority, path := rest, ""
	if i := strings.Index(rest[hostStart:], "/"); i >= 0 {
		authority, path = rest[:hostStart+i], rest[hostStart+i+1:]
	}

	opts := &redis.UniversalOptions{
		IsClusterMode: kind.mode == cluster,
		// Maintenance notifications are a managed-Redis feature; probing for
		// them on every connection only adds a failing command on plain Redis.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		// A caller's deadline bounds the socket reads and writes too, not
		// only the wait for a connection: a Redis that hangs (frozen, or cut
		// off by the network) must fail a call when its caller gives up
		// (the store breaker's --store-timeout, a stopping role's deadline),
		// not at read_timeout.
		ContextTimeoutEnabled: true,
	}
	hosts := authority
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		hosts = authority[at+1:]
		var err error
		if opts.Username, opts.Password, err = parseUserinfo(authority[:at]); err != nil {
			return nil, err
		}
	}
	if kind.mode == unixSocket {
		if err := parseSocket(opts, hosts, path); err != nil {
			return nil, err
		}
		return opts, parseQuery(opts, kind.mode, false, rawQuery)
	}
	defaultPort := "6379"
	if kind.mode == sentinel {
		defaultPort = "26379"
	}
	var err error
	if opts.Addrs, err = parseHosts(hosts, defaultPort); err != nil {
		return nil, err
	}
	if kind.mode == single && len(opts.Addrs) > 1 {
		return nil, fmt.Errorf("host %q: several hosts need redis+sentinel:// or redis+cluster://", hosts)
	}
	if err := parsePath(opts, kind.mode, path); err != nil {
		return nil, err
	}
	if err := parseQuery(opts, kind.mode, kind.tls, rawQuery); err != nil {
		return nil, err
	}
	return opts, nil
}

func parseUserinfo(info string) (user, pass string, err error) {
	rawUser, rawPass, _ := strings.Cut(info, ":")
	if user, err = url.PathUnescape(rawUser); err != nil {
		return "", "", errors.New("user: bad %-escape")
	}
	if pass, err = url.PathUnescape(rawPass); err != nil {
		return "", "", errors.New("password: bad %-escape")
	}
	return user, pass, nil
}

// parseHosts splits a comma-separated host list, filling in defaultPort
// where a host has none.
func parseHosts(hosts, defaultPort string) ([]string, error) {
	if hosts == "" {
		return nil, errors.New("host: missing")
	}
	var addrs []string
	for _, h := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			// No port: SplitHostPort refuses "host" and "[::1]" alike.
			host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), defaultPort
		}
		if host == "" || strings.ContainsAny(host, "[]") {
			return nil, fmt.Errorf("host %q: want host:port", h)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("host %q: port %q is not a number in 1..65535", h, port)
		}
		addrs = append(addrs, net.JoinHostPort(host, port))
	}
	return addrs, nil
}

// parsePath reads "[/db]", or "/master[/db]" for Sentinel. Cluster has no
// databases, so it takes no path.
func parsePath(opts *redis.UniversalOptions, m mode, path string) error {
	if m == sentinel {
		master, db, _ := strings.Cut(path, "/")
		if master == "" {
			return errors.New("path: missing Sentinel master name (redis+sentinel://hosts/master)")
		}
		opts.MasterName = master
		path = db
	}
	if path == "" {
		return nil
	}
	if m == cluster {
		return fmt.Errorf("path %q: Redis Cluster has no databases", path)
	}
	db, err := strconv.Atoi(path)
	if err != nil || db < 0 {
		return fmt.Errorf("path: database %q is not a number >= 0", path)
	}
	opts.DB = db
	return nil
}

func parseQuery(opts *redis.UniversalOptions, m mode, useTLS bool, raw string) error {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return errors.New("query: malformed")
	}
	var tq *tlsfiles.URLQuery
	if useTLS {
		tq = tlsfiles.NewURLQuery()
		opts.TLSConfig = tq.Config
	}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		v := q.Get(name)
		if strings.HasPrefix(name, "tls_") && !useTLS {
			return fmt.Errorf("query %s: needs a TLS scheme (rediss://...)", name)
		}
		if tq != nil {
			if known, err := tq.Set(name, v); known {
				if err != nil {
					return err
				}
				continue
			}
		}
		if strings.HasPrefix(name, "sentinel_") && m != sentinel {
			return fmt.Errorf("query %s: needs redis+sentinel://", name)
		}
		if name == "db" && m != unixSocket {
			return errors.New("query db: needs unix://; other schemes take the database as the path (/N)")
		}
		switch name {
		case "pool_size":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("query pool_size: %q is not a number >= 1", v)
			}
			opts.PoolSize = n
		case "dial_timeout":
			if opts.DialTimeout, err = parseDuration(v); err != nil {
				return fmt.Errorf("query dial_timeout: %w", err)
			}
		case "read_timeout":
			if opts.ReadTimeout, err = parseDuration(v); err != nil {
				return fmt.Errorf("query read_timeout: %w", err)
			}
		case "db":
			db, err := strconv.Atoi(v)
			if err != nil || db < 0 {
				return fmt.Errorf("query db: %q is not a number >= 0", v)
			}
			opts.DB = db
		case "tls_insecure":
			if tq.Config.InsecureSkipVerify, err = strconv.ParseBool(v); err != nil {
				return fmt.Errorf("query tls_insecure: %q is not true or false", v)
			}
		case "sentinel_username":
			opts.SentinelUsername = v
		case "sentinel_password":
			opts.SentinelPassword = v
		default:
			if strings.Trim(name, "abcdefghijklmnopqrstuvwxyz_") != "" {
				// Not a parameter name: perhaps a stray piece of a password.
				return errors.New("query: unknown parameter")
			}
			return fmt.Errorf("query %s: unknown parameter", name)
		}
	}
	if tq == nil {
		return nil
	}
	return tq.Finish()
}

// parseDuration accepts a Go duration ("500ms") or whole seconds ("5").
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 500ms or 5s", v)
	}
	return d, nil
}
