package counter

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// memcachedParallel bounds the requests one Add has in flight. gomemcache
// has no pipelining, so a batch costs a round trip per counter; running them
// side by side keeps a batch close to one round trip without letting a large
// batch open a connection per counter.
const memcachedParallel = 8

// Memcached keeps counters in memcached, spread over several servers by
// key. Every process sharing counts must list the same servers in the same
// order, since the order decides which server holds a key. A counter's
// expiry is set when it is created and never extended.
type Memcached struct {
	client     *memcache.Client
	serversErr error
	prefix     string
	srv        *srvRefresh // nil without an SRV record to follow
}

var _ Store = (*Memcached)(nil)

// NewMemcached counts on servers ("host:port"). A bad server address is
// reported by every Add. See memcachedKey for how keys are formed.
func NewMemcached(servers []string, prefix string) *Memcached {
	return newMemcached(servers, nil, prefix)
}

func newMemcached(servers []string, tlsConf *tls.Config, prefix string) *Memcached {
	list := new(memcache.ServerList)
	err := list.SetServers(servers...)
	if err == nil && len(servers) == 0 {
		err = errors.New("none given")
	}
	return &Memcached{client: newMemcacheClient(list, tlsConf), serversErr: err, prefix: memcachedPrefix(prefix)}
}

func newMemcacheClient(list *memcache.ServerList, tlsConf *tls.Config) *memcache.Client {
	client := memcache.NewFromSelector(list)
	client.MaxIdleConns = memcachedParallel
	if tlsConf != nil {
		client.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			d := tls.Dialer{NetDialer: &net.Dialer{Timeout: memcache.DefaultTimeout}, Config: tlsConf}
			return d.DialContext(ctx, network, addr)
		}
	}
	return client
}

// Add increments each counter, creating missing ones; see the package
// constant memcachedParallel for how a batch is sent.
func (m *Memcached) Add(ctx context.Context, incs []Increment, counts []uint64) error {
	if err := checkAdd(incs, counts); err != nil {
		return err
	}
	if m.serversErr != nil {
		return fmt.Errorf("counter: memcached servers: %w", m.serversErr)
	}
	if len(incs) == 1 {
		return m.addOne(ctx, incs[0], &counts[0])
	}
	var (
		next atomic.Int64
		errs = make([]error, len(incs))
		wg   sync.WaitGroup
	)
	for range min(memcachedParallel, len(incs)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(incs); i = int(next.Add(1) - 1) {
				errs[i] = m.addOne(ctx, incs[i], &counts[i])
			}
		})
	}
	wg.Wait()
	// Each key fails on its own: the others' counts stand.
	return keyErrors(errs)
}

// addOne increments a counter. memcached cannot increment a missing key, so
// a miss is followed by an Add of the initial value; if another writer
// created the key in between, the Add fails and the Increment is retried.
func (m *Memcached) addOne(ctx context.Context, inc Increment, count *uint64) error {
	key := m.key(inc.Key)
	for range 3 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("counter %q: %w", inc.Key, err)
		}
		n, err := m.client.Increment(key, inc.Hits)
		if err == nil {
			*count = m.unwrap(key, n, inc.Hits)
			return nil
		}
		if !errors.Is(err, memcache.ErrCacheMiss) {
			return fmt.Errorf("counter %q: memcached incr: %w", inc.Key, err)
		}
		if inc.Hits == 0 { // a read of a missing counter does not create it
			*count = 0
			return nil
		}
		err = m.client.Add(&memcache.Item{Key: key, Value: strconv.AppendUint(nil, inc.Hits, 10),
			Expiration: memcachedExpiration(inc.Expiry, time.Now())})
		if err == nil {
			*count = inc.Hits
			return nil
		}
		if !errors.Is(err, memcache.ErrNotStored) {
			return fmt.Errorf("counter %q: memcached add: %w", inc.Key, err)
		}
	}
	// Only a key that expires again and again between incr and add gets here.
	return fmt.Errorf("counter %q: memcached: created by another writer but gone on every retry", inc.Key)
}

// unwrap undoes memcached's wrap-around at 2^64 (incr wraps, it does not
// saturate): a count n below the hits just added wrapped, so the counter is
// raised to the largest uint64 by one more incr, which keeps its expiry.
// A count never goes backwards: whatever the repair's outcome, a wrapped
// counter reads as the largest uint64.
func (m *Memcached) unwrap(key string, n, hits uint64) uint64 {
	for range 3 {
		if n >= hits {
			return n
		}
		// Another writer's incr between the two may wrap it again.
		raise := math.MaxUint64 - n
		got, err := m.client.Increment(key, raise)
		if err != nil || got == math.MaxUint64 {
			break
		}
		n, hits = got, raise
	}
	return math.MaxUint64
}

// Close stops following the SRV record and closes idle connections to the
// servers.
func (m *Memcached) Close() error {
	m.srv.stop()
	return m.client.Close()
}

// memcachedMaxRelative is the longest expiry memcached takes as seconds from
// now; a larger number is read as a Unix time.
const memcachedMaxRelative = 30 * 24 * 60 * 60

// memcachedExpiration rounds d up to whole seconds, and switches to an
// absolute Unix time beyond 30 days (month and year windows).
func memcachedExpiration(d time.Duration, now time.Time) int32 {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs > memcachedMaxRelative {
		return int32(now.Unix() + secs)
	}
	return int32(secs)
}
