package decisions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	stats "github.com/lyft/gostats"
	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/backoff"
	"github.com/floodgate/floodgate/internal/nullstats"
)

// RedisBusOptions configures a RedisBus.
type RedisBusOptions struct {
	// Endpoints are independent Redis deployments (a broker pair, say).
	// Publish writes to every one; Subscribe reads from the first reachable
	// one. The caller owns and closes the clients.
	Endpoints []redis.UniversalClient
	// Names label the endpoints in logs and health (their URLs, usually);
	// "redis[i]" when missing.
	Names []string
	// Prefix names the channel and keys; "floodgate" when empty.
	Prefix string

	Backoff backoff.Backoff
	// PingInterval is how long a quiet subscription waits before it checks
	// the connection with a PING; 1s when zero. A PING unanswered for as long
	// again counts as a lost connection.
	PingInterval time.Duration
	// ProbeInterval is how often a subscriber on a fallback endpoint checks
	// whether the first endpoint is back; 5s when zero.
	ProbeInterval time.Duration
	// RefreshInterval is how often the bus makes sure the decisions it
	// published are still stored on every endpoint and publishes again
	// those that are not; 1s when zero. A refresh checks only the
	// decisions published since the last one, unless an endpoint lost
	// everything (a restart: its holder key is gone), which gets all of
	// them again; the work follows change, not the number in force.
	RefreshInterval time.Duration
	// Timeout bounds one publish, one refresh round trip, and one page of
	// a catch-up (a catch-up of many decisions takes as many pages as it
	// needs); 2s when zero.
	Timeout time.Duration
	// CatchUpPage is how many decisions one catch-up round trip asks for;
	// 1000 when zero.
	CatchUpPage int

	Stats  stats.Scope      // the bus's stats go under "bus"; discarded when nil
	Logger *slog.Logger     // slog.Default() when nil
	Now    func() time.Time // time.Now when nil
}

func (o RedisBusOptions) withDefaults() RedisBusOptions {
	if o.Prefix == "" {
		o.Prefix = "floodgate"
	}
	if o.PingInterval <= 0 {
		o.PingInterval = time.Second
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = 5 * time.Second
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.CatchUpPage <= 0 {
		o.CatchUpPage = 1000
	}
	o.Stats = nullstats.Or(o.Stats)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// RedisBus carries decisions over Redis pub/sub, with a hash of the
// decisions in force beside the channel so a subscriber that (re)connects
// catches up. See README.md for the data layout.
type RedisBus struct {
	o                          RedisBusOptions
	channel, activeKey, expKey string
	holderKey                  string // this bus's marker on each endpoint
	log                        *slog.Logger
	now                        func() time.Time
	live                       atomic.Int32 // live subscriptions
	endpoint                   atomic.Int32 // endpoint of the latest live subscription
	publishErrs, published     stats.Counter
	refreshed, reconnects      stats.Counter
	refreshChecked             stats.Counter
	decodeErrs, received       stats.Counter
	connected                  stats.Gauge // 1 while a subscription is live
	catchUpPages               stats.Counter

	mu      sync.Mutex
	inForce map[string]Decision // what this bus published and still holds
	expiry  expiryQueue         // inForce's keys by window end
	recent  []string            // keys published since the last refresh

	cancel context.CancelFunc
	done   chan struct{}
}

// NewRedisBus returns a bus over the endpoints. It runs one goroutine that
// refreshes published decisions until Close.
func NewRedisBus(o RedisBusOptions) (*RedisBus, error) {
	if len(o.Endpoints) == 0 {
		return nil, errors.New("redis bus: no endpoints")
	}
	o = o.withDefaults()
	sc := o.Stats.Scope("bus")
	b := &RedisBus{
		o: o,
		// The hash tag keeps both keys in one slot on Redis Cluster, as the
		// publish script needs.
		channel:     o.Prefix + ":decisions",
		activeKey:   o.Prefix + ":{decisions}:active",
		expKey:      o.Prefix + ":{decisions}:expiry",
		holderKey:   o.Prefix + ":{decisions}:holder:" + strconv.FormatUint(rand.Uint64(), 36),
		log:         o.Logger.With("component", "redis-bus"),
		now:         o.Now,
		publishErrs: sc.NewCounter("publish_errors"),
		published:   sc.NewCounter("published"),
		refreshed:   sc.NewCounter("refreshed"),
		// refresh_checked counts the decisions a refresh asked an endpoint
		// about: it follows change, not the number in force.
		refreshChecked: sc.NewCounter("refresh_checked"),
		catchUpPages:   sc.NewCounter("catch_up_pages"),
		reconnects:     sc.NewCounter("reconnects"),
		decodeErrs:     sc.NewCounter("decode_errors"),
		received:       sc.NewCounter("received"),
		connected:      sc.NewGauge("connected"),
		inForce:        make(map[string]Decision),
		done:           make(chan struct{}),
	}
	b.endpoint.Store(-1)
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go b.refreshLoop(ctx)
	return b, nil
}

// Close stops the refresh goroutine. It does not close the clients.
func (b *RedisBus) Close() error {
	b.cancel()
	<-b.done
	return nil
}

func (b *RedisBus) name(i int) string {
	if i < len(b.o.Names) && b.o.Names[i] != "" {
		return b.o.Names[i]
	}
	return "redis[" + strconv.Itoa(i) + "]"
}

// publishScript prunes expired decisions, then stores (THROTTLED) or
// removes (RELEASED) each decision and publishes it. ARGV: channel, now,
// then per decision: key, window end, "T" or "R", payload.
var publishScript = redis.NewScript(`
local pruned = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, 256)
if #pruned > 0 then
  redis.call('HDEL', KEYS[1], unpack(pruned))
  redis.call('ZREM', KEYS[2], unpack(pruned))
end
for i = 3, #ARGV, 4 do
  if ARGV[i+2] == 'T' then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+3])
    redis.call('ZADD', KEYS[2], ARGV[i+1], ARGV[i])
  else
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
  end
  redis.call('PUBLISH', ARGV[1], ARGV[i+3])
end
return #pruned
`)

// refreshScript stores and publishes again each decision the endpoint no
// longer holds; same ARGV as publishScript. It returns how many it restored.
var refreshScript = redis.NewScript(`
local n = 0
for i = 3, #ARGV, 4 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+3])
    redis.call('ZADD', KEYS[2], ARGV[i+1], ARGV[i])
    redis.call('PUBLISH', ARGV[1], ARGV[i+3])
    n = n + 1
  end
end
return n
`)

// maxPerScript bounds one script call; larger publishes are split.
const maxPerScript = 256

// Publish stores and publishes ds on every endpoint. It fails if any
// endpoint failed; the others have the decisions.
func (b *RedisBus) Publish(ctx context.Context, ds []Decision) error {
	if len(ds) == 0 {
		return nil
	}
	args, err := b.scriptArgs(ds)
	if err != nil {
		return err
	}
	b.mu.Lock()
	for _, d := range ds {
		if d.State != Throttled {
			delete(b.inForce, d.Key)
			continue
		}
		if old, ok := b.inForce[d.Key]; !ok || old.WindowEnd != d.WindowEnd {
			b.expiry.push(d.Key, d.WindowEnd)
		}
		b.inForce[d.Key] = d
		b.recent = append(b.recent, d.Key)
	}
	b.mu.Unlock()
	err = b.everyEndpoint(ctx, publishScript, args)
	if err == nil {
		b.published.Add(uint64(len(ds)))
	}
	return err
}

// scriptArgs encodes ds into script calls of at most maxPerScript decisions.
func (b *RedisBus) scriptArgs(ds []Decision) ([][]any, error) {
	now := strconv.FormatInt(b.now().Unix(), 10)
	var calls [][]any
	for start := 0; start < len(ds); start += maxPerScript {
		part := ds[start:min(start+maxPerScript, len(ds))]
		args := make([]any, 0, 2+4*len(part))
		args = append(args, b.channel, now)
		for i := range part {
			d := &part[i]
			payload, err := d.Marshal()
			if err != nil {
				return nil, fmt.Errorf("redis bus: decision %s: %w", d.Key, err)
			}
			state := "T"
			if d.State != Throttled {
				state = "R"
			}
			args = append(args, d.Key, d.WindowEnd, state, payload)
		}
		calls = append(calls, args)
	}
	return calls, nil
}

// everyEndpoint runs the script calls on all endpoints in parallel, so a
// slow or dead endpoint delays none of the others.
func (b *RedisBus) everyEndpoint(ctx context.Context, script *redis.Script, calls [][]any) error {
	ctx, cancel := context.WithTimeout(ctx, b.o.Timeout)
	defer cancel()
	errs := make([]error, len(b.o.Endpoints))
	var wg sync.WaitGroup
	for i, c := range b.o.Endpoints {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, args := range calls {
				if err := script.Run(ctx, c, []string{b.activeKey, b.expKey}, args...).Err(); err != nil {
					b.publishErrs.Inc()
					errs[i] = fmt.Errorf("redis bus: publish to %s: %w", b.name(i), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (b *RedisBus) refreshLoop(ctx context.Context) {
	defer close(b.done)
	t := time.NewTicker(b.o.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := b.refresh(ctx); err != nil && ctx.Err() == nil {
			b.log.Debug("refresh decisions", "err", err)
		}
	}
}

// refresh restores the decisions in force on endpoints that lost them: on
// an endpoint that still holds this bus's holder key it checks only the
// decisions published since the last refresh (a publish that failed
// there); on one that lost the key (restarted, flushed) it restores every
// decision in force. Expired decisions leave by the expiry queue, so a
// refresh with nothing changed asks Redis one question per endpoint.
func (b *RedisBus) refresh(ctx context.Context) error {
	now := b.now()
	b.mu.Lock()
	b.expiry.popDue(now.Unix(), func(k string, end int64) {
		if d, ok := b.inForce[k]; ok && d.WindowEnd == end {
			delete(b.inForce, k)
		}
	})
	recent := b.inForceLocked(b.recent, now)
	b.recent = nil
	b.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, b.o.Timeout)
	defer cancel()
	holderTTL := max(30*b.o.RefreshInterval, 30*time.Second)
	var errs []error
	for i, c := range b.o.Endpoints {
		// XX: the key is renewed only if the endpoint kept it.
		kept, err := c.SetXX(ctx, b.holderKey, "1", holderTTL).Result()
		ds := recent
		if err == nil && !kept {
			b.mu.Lock()
			ds = b.allInForceLocked(now)
			b.mu.Unlock()
			// Set before the restore: a restart during it loses the key
			// too, and the next refresh restores again.
			err = c.Set(ctx, b.holderKey, "1", holderTTL).Err()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("refresh %s: holder key: %w", b.name(i), err))
			// What was recent stays to be checked next time.
			b.keepRecent(recent)
			continue
		}
		if err := b.restore(ctx, i, ds); err != nil {
			errs = append(errs, err)
			b.keepRecent(recent)
		}
	}
	return errors.Join(errs...)
}

// allInForceLocked returns every decision in force.
func (b *RedisBus) allInForceLocked(now time.Time) []Decision {
	ds := make([]Decision, 0, len(b.inForce))
	for _, d := range b.inForce {
		if !d.Expired(now) {
			ds = append(ds, d)
		}
	}
	return ds
}

// inForceLocked returns the decisions in force among keys, once each.
func (b *RedisBus) inForceLocked(keys []string, now time.Time) []Decision {
	ds := make([]Decision, 0, len(keys))
	seen := make(map[string]struct{}, len(keys))
	for _, k := range keys {
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		if d, ok := b.inForce[k]; ok && !d.Expired(now) {
			ds = append(ds, d)
		}
	}
	return ds
}

// keepRecent puts the keys of ds back to be checked by the next refresh.
func (b *RedisBus) keepRecent(ds []Decision) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, d := range ds {
		b.recent = append(b.recent, d.Key)
	}
}

// restore stores and publishes again on endpoint i each of ds it lacks.
func (b *RedisBus) restore(ctx context.Context, i int, ds []Decision) error {
	if len(ds) == 0 {
		return nil
	}
	calls, err := b.scriptArgs(ds)
	if err != nil {
		return err
	}
	b.refreshChecked.Add(uint64(len(ds)))
	for _, args := range calls {
		n, err := refreshScript.Run(ctx, b.o.Endpoints[i], []string{b.activeKey, b.expKey}, args...).Int64()
		if err != nil {
			return fmt.Errorf("refresh %s: %w", b.name(i), err)
		}
		if n > 0 {
			b.refreshed.Add(uint64(n))
			b.log.Info("restored decisions on endpoint", "endpoint", b.name(i), "decisions", n)
		}
	}
	return nil
}

// Connected reports whether a subscription is live.
func (b *RedisBus) Connected() bool { return b.live.Load() > 0 }

// Endpoint names the endpoint of the live subscription, "" when none.
func (b *RedisBus) Endpoint() string {
	if !b.Connected() {
		return ""
	}
	return b.name(int(b.endpoint.Load()))
}

// errPrimaryBack ends a subscription on a fallback endpoint.
var errPrimaryBack = errors.New("first endpoint reachable again")

// Subscribe reads from the first reachable endpoint, moves on to the next
// when it fails, and returns to the first once it answers again. On every
// (re)connect it subscribes first and then catches up on the decisions in
// force, so nothing published meanwhile is lost.
func (b *RedisBus) Subscribe(ctx context.Context, apply func(Decision)) error {
	failures := 0 // consecutive rounds in which no endpoint worked
	for ctx.Err() == nil {
		worked := false
		for i := 0; i < len(b.o.Endpoints) && ctx.Err() == nil; i++ {
			connected, err := b.session(ctx, i, apply)
			if connected {
				worked = true
			}
			if ctx.Err() != nil {
				break
			}
			b.reconnects.Inc()
			if errors.Is(err, errPrimaryBack) {
				b.log.Info("returning to first endpoint", "from", b.name(i), "to", b.name(0))
				i = -1 // the loop's i++ makes it 0
				continue
			}
			if connected {
				b.log.Warn("decision subscription lost", "endpoint", b.name(i), "err", err)
			} else {
				b.log.Debug("decision endpoint unreachable", "endpoint", b.name(i), "err", err)
			}
		}
		if worked {
			failures = 0
			continue
		}
		if !b.o.Backoff.Sleep(ctx, failures) {
			break
		}
		failures++
	}
	return nil
}

// session is one subscription on endpoint i; it reports whether it got as
// far as live, and why it ended.
func (b *RedisBus) session(ctx context.Context, i int, apply func(Decision)) (connected bool, err error) {
	c := b.o.Endpoints[i]
	ps := c.Subscribe(ctx, b.channel)
	defer ps.Close()
	// Closing unblocks a pending read when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()

	rctx, cancel := context.WithTimeout(ctx, b.o.Timeout)
	_, err = ps.Receive(rctx) // the subscription's confirmation
	cancel()
	if err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	if err := b.catchUp(ctx, c, apply); err != nil {
		return false, err
	}
	b.endpoint.Store(int32(i))
	b.connected.Set(uint64(b.live.Add(1)))
	defer func() { b.connected.Set(uint64(b.live.Add(-1))) }()
	b.log.Info("decision subscription live", "endpoint", b.name(i))

	pingSent := time.Time{}
	nextProbe := time.Now().Add(b.o.ProbeInterval)
	for {
		msg, err := ps.ReceiveTimeout(ctx, b.o.PingInterval)
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return true, err
			}
			if !pingSent.IsZero() && time.Since(pingSent) >= b.o.PingInterval {
				return true, errors.New("ping unanswered")
			}
			if pingSent.IsZero() {
				if err := ps.Ping(ctx); err != nil {
					return true, fmt.Errorf("ping: %w", err)
				}
				pingSent = time.Now()
			}
		} else {
			pingSent = time.Time{}
			if m, ok := msg.(*redis.Message); ok {
				b.deliver([]byte(m.Payload), apply)
			}
		}
		if i > 0 && time.Now().After(nextProbe) {
			nextProbe = time.Now().Add(b.o.ProbeInterval)
			pctx, cancel := context.WithTimeout(ctx, b.o.Timeout)
			perr := b.o.Endpoints[0].Ping(pctx).Err()
			cancel()
			if perr == nil {
				return true, errPrimaryBack
			}
		}
	}
}

// catchUp delivers every decision the endpoint holds that is still in
// force, a page at a time. Each page has its own Timeout: hundreds of
// thousands of decisions take many round trips, and one deadline for all
// of them would fail a new replica's catch-up exactly when it matters.
func (b *RedisBus) catchUp(ctx context.Context, c redis.UniversalClient, apply func(Decision)) error {
	var cursor uint64
	now := b.now()
	for {
		pctx, cancel := context.WithTimeout(ctx, b.o.Timeout)
		kv, next, err := c.HScan(pctx, b.activeKey, cursor, "", int64(b.o.CatchUpPage)).Result()
		cancel()
		if err != nil {
			return fmt.Errorf("catch up: page at cursor %d: %w", cursor, err)
		}
		b.catchUpPages.Inc()
		for j := 1; j < len(kv); j += 2 {
			d, err := Unmarshal([]byte(kv[j]))
			if err != nil {
				b.decodeErrs.Inc()
				continue
			}
			if !d.Expired(now) {
				b.received.Inc()
				apply(d)
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

func (b *RedisBus) deliver(payload []byte, apply func(Decision)) {
	d, err := Unmarshal(payload)
	if err != nil {
		b.decodeErrs.Inc()
		b.log.Debug("bad decision on channel", "err", err)
		return
	}
	b.received.Inc()
	apply(d)
}
