package redisconn

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	// got is the subset of options each case checks.
	type got struct {
		Addrs         []string
		User, Pass    string
		DB            int
		Master        string
		SentinelUser  string
		SentinelPass  string
		Cluster       bool
		TLS, Insecure bool
		ServerName    string
		Pool          int
		Dial, Read    time.Duration
	}
	tests := []struct {
		url  string
		want got
	}{
		{"redis://127.0.0.1:6379", got{Addrs: []string{"127.0.0.1:6379"}}},
		{"redis://localhost", got{Addrs: []string{"localhost:6379"}}},
		{"redis://[::1]:7000/3", got{Addrs: []string{"[::1]:7000"}, DB: 3}},
		{"redis://[::1]/", got{Addrs: []string{"[::1]:6379"}}},
		{"redis://:secret@h:1/2", got{Addrs: []string{"h:1"}, Pass: "secret", DB: 2}},
		{"redis://alice:p%40ss@h:1", got{Addrs: []string{"h:1"}, User: "alice", Pass: "p@ss"}},
		{"redis://alice:p@ss/w#@h:1/4", got{Addrs: []string{"h:1"}, User: "alice", Pass: "p@ss/w#", DB: 4}},
		{"rediss://h:1?tls_insecure=true&tls_server_name=redis.example",
			got{Addrs: []string{"h:1"}, TLS: true, Insecure: true, ServerName: "redis.example"}},
		{"redis+sentinel://u:p@s1:26379,s2/mymaster/5?sentinel_password=sp&sentinel_username=su",
			got{Addrs: []string{"s1:26379", "s2:26379"}, User: "u", Pass: "p", Master: "mymaster", DB: 5,
				SentinelUser: "su", SentinelPass: "sp"}},
		{"rediss+sentinel://s1:1/m", got{Addrs: []string{"s1:1"}, Master: "m", TLS: true}},
		{"redis+cluster://c1:7000,c2:7001", got{Addrs: []string{"c1:7000", "c2:7001"}, Cluster: true}},
		{"redis+cluster://c1", got{Addrs: []string{"c1:6379"}, Cluster: true}},
		{"rediss+cluster://c1:1/", got{Addrs: []string{"c1:1"}, Cluster: true, TLS: true}},
		{"redis://h:1?pool_size=20&dial_timeout=250ms&read_timeout=2",
			got{Addrs: []string{"h:1"}, Pool: 20, Dial: 250 * time.Millisecond, Read: 2 * time.Second}},
		{"unix:///var/run/redis.sock", got{Addrs: []string{"/var/run/redis.sock"}}},
		{"unix://:pw@/run/r.sock?db=3&pool_size=4", got{Addrs: []string{"/run/r.sock"}, Pass: "pw", DB: 3, Pool: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			o, err := ParseURL(tt.url)
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			g := got{Addrs: o.Addrs, User: o.Username, Pass: o.Password, DB: o.DB, Master: o.MasterName,
				SentinelUser: o.SentinelUsername, SentinelPass: o.SentinelPassword, Cluster: o.IsClusterMode,
				Pool: o.PoolSize, Dial: o.DialTimeout, Read: o.ReadTimeout}
			if o.TLSConfig != nil {
				g.TLS, g.Insecure, g.ServerName = true, o.TLSConfig.InsecureSkipVerify, o.TLSConfig.ServerName
			}
			if !reflect.DeepEqual(g, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", g, tt.want)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct {
		url  string
		want string // the part the error must name
	}{
		{"127.0.0.1:6379", "scheme"},
		{"http://h:1", `scheme "http"`},
		{"redis://", "host: missing"},
		{"redis://h:port", `port "port"`},
		{"redis://h:70000", `port "70000"`},
		{"redis://h1:1,h2:2", "several hosts"},
		{"redis://h:1/x", `database "x"`},
		{"redis://h:1/-1", `database "-1"`},
		{"redis+sentinel://s:1", "master name"},
		{"redis+sentinel://s:1/m/x", `database "x"`},
		{"redis+cluster://c:1/0", "no databases"},
		{"redis://h:1?pool_size=0", "pool_size"},
		{"redis://h:1?dial_timeout=soon", "dial_timeout"},
		{"redis://h:1?read_timeout=-1s", "read_timeout"},
		{"redis://h:1?tls_insecure=true", "tls_insecure: needs a TLS scheme"},
		{"rediss://h:1?tls_insecure=maybe", "tls_insecure"},
		{"rediss://h:1?tls_ca=/does/not/exist", "tls_ca"},
		{"rediss://h:1?tls_ca=redisconn_test.go", "tls_ca: no PEM certificate"},
		{"redis://h:1?sentinel_password=x", "sentinel_password: needs redis+sentinel"},
		{"redis://h:1?pool_sise=3", "pool_sise: unknown"},
		{"redis://h:1?a=%zz", "query: malformed"},
		{"redis://u:bad%zzpw@h:1", "password: bad"},
		{"unix://h:1/r.sock", `host "h:1": unix:// takes a path`},
		{"unix://", "missing socket path"},
		{"unix:///r.sock?db=x", `db: "x"`},
		{"unix:///r.sock?tls_ca=x", "tls_ca: needs a TLS scheme"},
		{"redis://h:1?db=2", "db: needs unix://"},
		{"rediss://h:1?tls_cert=c.pem", "give both"},
		{"rediss://h:1?tls_cert=/no/c.pem&tls_key=/no/k.pem", "tls_cert, tls_key"},
		{"rediss://h:1?tls_skip_hostname_verification=maybe", "tls_skip_hostname_verification"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := ParseURL(tt.url)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "redis URL: ") {
				t.Fatalf("error %q does not name %q", err, tt.want)
			}
		})
	}
}

// A password must never reach an error message, however the URL is broken.
func TestParseURLErrorsHidePassword(t *testing.T) {
	const pw = "hunter2"
	for _, u := range []string{
		"redis://u:" + pw + "@h:port",
		"redis://u:" + pw + "@h:1/x",
		"redis://u:hun?ter2@h:1",
		"redis://u:hun?x=ter2@h:1",
		"redis://u:" + pw + "%zz@h:1",
		"u:" + pw + "@h://x",
		"redis+sentinel://s:1/m?sentinel_password=" + pw + "&bogus=1",
		"redis+sentinel://s:1/m?sentinel_password=" + pw + "&pool_size=x",
	} {
		_, err := ParseURL(u)
		if err == nil {
			t.Errorf("%s: no error", u)
			continue
		}
		if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "ter2") {
			t.Errorf("%s: error leaks the password: %v", u, err)
		}
	}
}
