package counter

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// srvLookupTimeout bounds one SRV lookup.
const srvLookupTimeout = 5 * time.Second

// OpenMemcached counts on the servers ms names. With an SRV record it looks
// the record up now, failing when it cannot (as envoyproxy/ratelimit fails
// to start), and with SRVRefresh again that often, moving to the new
// targets; a failed or empty refresh keeps the servers it has. Close stops
// the refresh.
func OpenMemcached(ms MemcachedServers, prefix string) (*Memcached, error) {
	if ms.SRV == "" {
		return newMemcached(ms.Addrs, ms.TLS, prefix), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), srvLookupTimeout)
	servers, err := ms.lookupServers(ctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("memcached servers: %w", err)
	}
	list := new(memcache.ServerList)
	if err := list.SetServers(servers...); err != nil {
		return nil, fmt.Errorf("memcached servers from SRV %s: %w", ms.SRV, err)
	}
	m := &Memcached{client: newMemcacheClient(list, ms.TLS), prefix: memcachedPrefix(prefix)}
	if ms.SRVRefresh > 0 {
		m.srv = &srvRefresh{ms: ms, list: list, servers: servers, quit: make(chan struct{}), done: make(chan struct{})}
		go m.srv.run()
	}
	return m, nil
}

// srvRefresh follows an SRV record: its goroutine runs until stop.
type srvRefresh struct {
	ms         MemcachedServers
	list       *memcache.ServerList
	servers    []string // in force; only run touches it
	quit, done chan struct{}
}

func (r *srvRefresh) run() {
	defer close(r.done)
	t := time.NewTicker(r.ms.SRVRefresh)
	defer t.Stop()
	for {
		select {
		case <-r.quit:
			return
		case <-t.C:
			r.refresh()
		}
	}
}

func (r *srvRefresh) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), srvLookupTimeout)
	defer cancel()
	servers, err := r.ms.lookupServers(ctx)
	if err != nil {
		slog.Warn("memcached SRV refresh failed; keeping the servers in force", "srv", r.ms.SRV, "err", err)
		return
	}
	if slices.Equal(servers, r.servers) {
		return
	}
	if err := r.list.SetServers(servers...); err != nil {
		slog.Warn("memcached SRV refresh: bad target; keeping the servers in force", "srv", r.ms.SRV, "err", err)
		return
	}
	slog.Info("memcached servers changed", "srv", r.ms.SRV, "servers", servers)
	r.servers = servers
}

// stop ends the refresh and waits for it; nil does nothing.
func (r *srvRefresh) stop() {
	if r == nil {
		return
	}
	select {
	case <-r.quit:
	default:
		close(r.quit)
	}
	<-r.done
}
