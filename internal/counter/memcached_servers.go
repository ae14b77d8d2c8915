package counter

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/floodgate/floodgate/internal/tlsfiles"
)

// MemcachedServers say where memcached counters live: a fixed list, or the
// targets of a DNS SRV record, each over TLS or not. ParseMemcached reads
// them from --memcached:
//
//	h1:11211,h2:11211                                     a fixed list
//	memcached://h1:11211,h2:11211                         the same
//	memcached+srv://_memcache._tcp.example.com[?refresh=30s]  SRV (MEMCACHE_SRV, MEMCACHE_SRV_REFRESH)
//	memcacheds://... , memcacheds+srv://...               TLS (MEMCACHE_TLS*): tls_ca, tls_cert, tls_key,
//	                                                      tls_server_name, tls_skip_hostname_verification
type MemcachedServers struct {
	Addrs []string
	// SRV is a record _service._proto.name; its targets, sorted, are the
	// servers (sorted, so every process orders them alike).
	SRV string
	// SRVRefresh looks the record up again this often; 0: only at start.
	SRVRefresh time.Duration
	// Resolver looks SRV up; nil: the system's DNS.
	Resolver SRVResolver
	// TLS, when set, wraps every connection.
	TLS *tls.Config
}

// SRVResolver looks up SRV records; *net.Resolver is one.
type SRVResolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

// srvName is envoyproxy/ratelimit's form of an SRV name.
var srvName = regexp.MustCompile(`^_(.+?)\._(.+?)\.(.+)$`)

// ParseMemcached reads --memcached. Errors name the part that is wrong.
func ParseMemcached(s string) (MemcachedServers, error) {
	var ms MemcachedServers
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return MemcachedServers{Addrs: splitHosts(s)}, nil
	}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	srv := strings.HasSuffix(scheme, "+srv")
	useTLS := strings.HasPrefix(scheme, "memcacheds")
	switch scheme {
	case "memcached", "memcacheds":
		ms.Addrs = splitHosts(rest)
		if len(ms.Addrs) == 0 {
			return ms, errors.New("memcached URL: host: missing")
		}
	case "memcached+srv", "memcacheds+srv":
		if !srvName.MatchString(rest) {
			return ms, fmt.Errorf("memcached URL: SRV name %q: want _service._proto.name", rest)
		}
		ms.SRV = rest
	default:
		return ms, fmt.Errorf("memcached URL: scheme %q: want memcached, memcacheds, memcached+srv or memcacheds+srv", scheme)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return ms, errors.New("memcached URL: query: malformed")
	}
	var tq *tlsfiles.URLQuery
	if useTLS {
		tq = tlsfiles.NewURLQuery()
		ms.TLS = tq.Config
	}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		v := q.Get(name)
		switch {
		case strings.HasPrefix(name, "tls_") && !useTLS:
			return ms, fmt.Errorf("memcached URL: query %s: needs memcacheds:// or memcacheds+srv://", name)
		case name == "refresh" && !srv:
			return ms, errors.New("memcached URL: query refresh: needs memcached+srv://")
		}
		if tq != nil {
			if known, err := tq.Set(name, v); known {
				if err != nil {
					return ms, fmt.Errorf("memcached URL: %w", err)
				}
				continue
			}
		}
		switch name {
		case "refresh":
			if ms.SRVRefresh, err = time.ParseDuration(v); err != nil || ms.SRVRefresh < 0 {
				return ms, fmt.Errorf("memcached URL: query refresh: %q is not a duration such as 30s", v)
			}
		default:
			return ms, fmt.Errorf("memcached URL: query %s: unknown parameter", name)
		}
	}
	if tq != nil {
		if err := tq.Finish(); err != nil {
			return ms, fmt.Errorf("memcached URL: %w", err)
		}
	}
	return ms, nil
}

func splitHosts(s string) []string {
	var out []string
	for _, h := range strings.Split(s, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// lookupServers resolves the SRV record into sorted host:port servers.
func (ms MemcachedServers) lookupServers(ctx context.Context) ([]string, error) {
	m := srvName.FindStringSubmatch(ms.SRV)
	if m == nil {
		return nil, fmt.Errorf("SRV name %q: want _service._proto.name", ms.SRV)
	}
	r := ms.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	_, recs, err := r.LookupSRV(ctx, m[1], m[2], m[3])
	if err != nil {
		return nil, fmt.Errorf("SRV %s: %w", ms.SRV, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("SRV %s: no targets", ms.SRV)
	}
	// Target:port as envoyproxy/ratelimit writes them (the trailing dot
	// kept), sorted as it sorts them: the order decides which server holds
	// a key, so both must agree to share counts during a cut-over.
	servers := make([]string, len(recs))
	for i, rec := range recs {
		servers[i] = fmt.Sprintf("%s:%d", rec.Target, rec.Port)
	}
	slices.Sort(servers)
	return servers, nil
}

// UseMemcached points l at the memcached servers ms names.
func (l *Location) UseMemcached(ms MemcachedServers) {
	l.Memcached, l.MemcachedSRV, l.MemcachedSRVRefresh = ms.Addrs, ms.SRV, ms.SRVRefresh
	l.MemcachedTLS, l.SRVResolver = ms.TLS, ms.Resolver
}
