package ratelimitenv

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// backend reads the counter store: Redis (and a per-second Redis) or
// memcached.
func (r *reader) backend() {
	switch typ := r.str("BACKEND_TYPE", "redis"); typ {
	case "redis", "":
		u, shown, vars := r.redisURL("REDIS", "/var/run/nutcracker/ratelimit.sock")
		r.setShown("redis", u, shown, vars...)
		if r.boolean("REDIS_PERSECOND", false) {
			u, shown, vars := r.redisURL("REDIS_PERSECOND", "/var/run/nutcracker/ratelimitpersecond.sock")
			r.setShown("redis-per-second", u, shown, append(vars, "REDIS_PERSECOND")...)
		}
	case "memcache":
		r.memcached()
	default:
		r.fail("BACKEND_TYPE", typ, "want redis or memcache")
	}
}

// redisURL builds the Floodgate Redis URL of one pool (prefix REDIS or
// REDIS_PERSECOND) as envoyproxy/ratelimit dials it: REDIS_URL is a
// socket path or host:port, a comma list of cluster nodes, or a sentinel
// list "master,sentinel1,...". It returns the URL, the URL with
// passwords masked, and the variables it read.
func (r *reader) redisURL(prefix, defaultPath string) (string, string, []string) {
	vars := []string{prefix + "_SOCKET_TYPE", prefix + "_TYPE", prefix + "_URL", prefix + "_POOL_SIZE",
		prefix + "_AUTH", prefix + "_TLS", prefix + "_SENTINEL_AUTH", prefix + "_TIMEOUT"}
	socket := lower(r.str(prefix+"_SOCKET_TYPE", "unix"))
	typ := lower(r.str(prefix+"_TYPE", "SINGLE"))
	addr := strings.TrimSpace(r.str(prefix+"_URL", defaultPath))
	q := url.Values{}
	q.Set("pool_size", strconv.Itoa(r.integer(prefix+"_POOL_SIZE", 10)))
	q.Set("dial_timeout", r.duration(prefix+"_TIMEOUT", 10*time.Second).String())
	useTLS := r.boolean(prefix+"_TLS", false)
	if useTLS {
		vars = append(vars, r.tlsFiles("REDIS", q)...)
	}
	auth, secret := userinfo(r.str(prefix+"_AUTH", ""))

	var scheme, hosts, path string
	switch typ {
	case "single":
		switch socket {
		case "unix":
			if useTLS {
				r.fail(prefix+"_TLS", "true", "TLS over a unix socket is not supported; use "+prefix+"_SOCKET_TYPE=tcp")
			}
			scheme, path = "unix", addr
		case "tcp":
			scheme, hosts = "redis", addr
		default:
			r.fail(prefix+"_SOCKET_TYPE", socket, "want unix or tcp")
		}
	case "cluster":
		scheme, hosts = "redis+cluster", joinList(addr)
	case "sentinel":
		parts := strings.Split(addr, ",")
		if len(parts) < 2 {
			r.fail(prefix+"_URL", addr, "a sentinel URL is <master name>,<sentinel1>,...,<sentinelN>")
			break
		}
		scheme, hosts, path = "redis+sentinel", joinList(strings.Join(parts[1:], ",")), "/"+strings.TrimSpace(parts[0])
		if user, pass, found := strings.Cut(r.str(prefix+"_SENTINEL_AUTH", ""), ":"); pass != "" || user != "" {
			if !found {
				user, pass = "", user
			}
			if user != "" {
				q.Set("sentinel_username", user)
			}
			q.Set("sentinel_password", pass)
		}
	default:
		r.fail(prefix+"_TYPE", typ, "want single, sentinel or cluster")
	}
	if useTLS && scheme != "unix" {
		scheme = strings.Replace(scheme, "redis", "rediss", 1)
	}
	build := func(auth string, q url.Values) string {
		return scheme + "://" + auth + hosts + path + "?" + q.Encode()
	}
	shownQ := url.Values{}
	for k, v := range q {
		shownQ[k] = v
	}
	if shownQ.Has("sentinel_password") {
		shownQ.Set("sentinel_password", "xxxxx")
	}
	return build(auth, q), build(secret, shownQ), vars
}

// tlsFiles adds the TLS files and hostname switch of one store (prefix
// REDIS or MEMCACHE; both Redis pools share REDIS's) to q.
func (r *reader) tlsFiles(prefix string, q url.Values) []string {
	params := [][2]string{{"tls_ca", "_TLS_CACERT"}, {"tls_cert", "_TLS_CLIENT_CERT"}, {"tls_key", "_TLS_CLIENT_KEY"}}
	var vars []string
	for _, p := range params {
		name := prefix + p[1]
		if v := r.str(name, ""); v != "" {
			q.Set(p[0], v)
		}
		vars = append(vars, name)
	}
	skip := prefix + "_TLS_SKIP_HOSTNAME_VERIFICATION"
	if r.boolean(skip, false) {
		q.Set("tls_skip_hostname_verification", "true")
	}
	return append(vars, skip)
}

// userinfo is REDIS_AUTH ("password" or "user:password") as a URL's
// userinfo, and the same with the password masked.
func userinfo(auth string) (string, string) {
	if auth == "" {
		return "", ""
	}
	user, pass, found := strings.Cut(auth, ":")
	if !found {
		user, pass = "", auth
	}
	return url.PathEscape(user) + ":" + url.PathEscape(pass) + "@", url.PathEscape(user) + ":xxxxx@"
}

// joinList trims the items of a comma list.
func joinList(s string) string {
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, ",")
}

// memcached reads the memcached servers: a host list or an SRV record,
// over TLS or not.
func (r *reader) memcached() {
	hosts := joinList(r.str("MEMCACHE_HOST_PORT", ""))
	srv := r.str("MEMCACHE_SRV", "")
	vars := []string{"MEMCACHE_HOST_PORT", "MEMCACHE_SRV"}
	q := url.Values{}
	scheme := "memcached"
	switch {
	case hosts != "" && srv != "":
		r.fail("MEMCACHE_SRV", srv, "MEMCACHE_HOST_PORT is set too; set one of them")
		return
	case srv != "":
		scheme += "+srv"
		hosts = srv
		if d := r.duration("MEMCACHE_SRV_REFRESH", 0); d > 0 {
			q.Set("refresh", d.String())
		}
		vars = append(vars, "MEMCACHE_SRV_REFRESH")
	case hosts == "":
		r.fail("MEMCACHE_HOST_PORT", "", "BACKEND_TYPE=memcache needs MEMCACHE_HOST_PORT or MEMCACHE_SRV")
		return
	}
	if r.boolean("MEMCACHE_TLS", false) {
		scheme = strings.Replace(scheme, "memcached", "memcacheds", 1)
		vars = append(vars, r.tlsFiles("MEMCACHE", q)...)
		vars = append(vars, "MEMCACHE_TLS")
	}
	u := scheme + "://" + hosts
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	r.set("memcached", u, vars...)
}
