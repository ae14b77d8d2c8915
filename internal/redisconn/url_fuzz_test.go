package redisconn

import (
	"strings"
	"testing"
)

// FuzzParseURL parses any Redis URL: options or an error, never a panic,
// and an error never holds the password.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"redis://127.0.0.1:6379/0", "rediss://user:pw@h:1?dial_timeout=1s",
		"redis+sentinel://:pw@a:26379,b:26379/mymaster/2?sentinel_password=x", "redis+cluster://a:1,b:2?read_only=true",
		"redis://%zz@h", "redis://h:99999", "unix:///tmp/redis.sock?db=3"} {
		f.Add(s, "s3cretpassword")
	}
	f.Fuzz(func(t *testing.T, raw, password string) {
		opts, err := ParseURL(raw)
		if err == nil && opts == nil {
			t.Fatal("no options and no error")
		}
		if len(password) < 6 || strings.ContainsAny(password, "@/:?#%") || strings.Contains(raw, password) {
			return
		}
		scheme, rest, ok := strings.Cut(raw, "://")
		if !ok {
			return
		}
		withPassword := scheme + "://:" + password + "@" + rest
		_, err = ParseURL(withPassword)
		if err == nil || !strings.Contains(err.Error(), password) {
			return
		}
		// The error names the password only if it holds the same text when
		// the password is another ("password" holds "ssword").
		if _, other := ParseURL(scheme + "://:x@" + rest); other == nil || !strings.Contains(other.Error(), password) {
			t.Fatalf("the error of %q shows the password: %v", withPassword, err)
		}
	})
}
