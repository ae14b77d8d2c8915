package decisions

import (
	"net/url"

	"github.com/redis/go-redis/v9"

	"github.com/floodgate/floodgate/internal/redisconn"
)

// Brokers are the Redis deployments decisions travel over, independent of
// each other (a pair, say), and the bus that runs over them: engines
// publish to every one, replicas subscribe to the first reachable.
type Brokers struct {
	Clients []redis.UniversalClient
	Names   []string // the URLs without their passwords, for logs and health
	Bus     *RedisBus
}

// OpenBrokers connects to every Floodgate Redis URL (see redisconn) and
// opens a RedisBus over them with o, whose Endpoints and Names it fills.
// An error is a URL's, and leaves nothing open.
func OpenBrokers(urls []string, o RedisBusOptions) (*Brokers, error) {
	b := &Brokers{}
	for _, u := range urls {
		c, err := redisconn.New(u)
		if err != nil {
			b.Close()
			return nil, err
		}
		b.Clients = append(b.Clients, c)
		b.Names = append(b.Names, redactURL(u))
	}
	o.Endpoints, o.Names = b.Clients, b.Names
	bus, err := NewRedisBus(o)
	if err != nil {
		b.Close()
		return nil, err
	}
	b.Bus = bus
	return b, nil
}

// Close stops the bus, then drops the connections it ran over.
func (b *Brokers) Close() {
	if b.Bus != nil {
		b.Bus.Close()
	}
	for _, c := range b.Clients {
		c.Close()
	}
}

// redactURL names an endpoint in logs and health without its password.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "redis"
	}
	return u.Redacted()
}
