package flow

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/floodgate/floodgate/"

// forbidden lists, for each package, the packages it must not import,
// directly or not. A prefix ending in "/" covers a tree.
var forbidden = map[string][]string{
	"policy":            {"ratelimit/", "ratelimit", "decisions", "xds", "xds/", "internal/cluster", "internal/serving"},
	"xds":               {"ratelimit", "ratelimit/", "decisions", "xds/client", "xds/controlplane"},
	"xds/client":        {"ratelimit", "ratelimit/", "decisions", "xds/controlplane", "internal/redisconn"},
	"xds/controlplane":  {"ratelimit", "ratelimit/", "decisions", "xds/client"},
	"ratelimit":         {"ratelimit/replica", "decisions", "xds", "xds/"},
	"ratelimit/replica": {"xds", "xds/"},
	"decisions":         {"ratelimit", "ratelimit/", "xds", "xds/"},
	"internal/counter":  {"policy", "ratelimit", "ratelimit/", "decisions", "xds", "xds/"},
	"internal/serving":  {"policy", "ratelimit", "ratelimit/", "decisions", "xds", "xds/"},
}

func TestImportsFollowTheFlow(t *testing.T) {
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			dep, ok := strings.CutPrefix(dep, module)
			if !ok || dep == pkg {
				continue
			}
			for _, b := range bad {
				if dep == b || strings.HasSuffix(b, "/") && strings.HasPrefix(dep, b) {
					t.Errorf("%s imports %s, against the flow", pkg, dep)
				}
			}
		}
	}
}
