package roleflags

import (
	"context"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	b, err := Build(context.Background(), "../..", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string // "" for no error, else a part of it
	}{
		{[]string{"rls", "--grpc-addr=:8081", "--engine", "e:8091", "--shadow-mode", "-redis", "redis://r:6379"}, ""},
		{[]string{"engine", "--memcached=m:11211", "--engine-token-file=/t"}, ""},
		{[]string{"rls", "--memcached=m:11211"}, "rls: no flag --memcached"},
		{[]string{"control-plane", "--grpc-addr"}, "--grpc-addr needs a value"},
		{[]string{"serve", "--shadow-mode", "/etc/policies"}, `argument "/etc/policies" is not a flag`},
		{[]string{"no-such-role"}, "floodgate no-such-role -h"},
	} {
		err := b.Check(c.args)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.args, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: error %v, want one containing %q", c.args, err, c.want)
		}
	}
}
