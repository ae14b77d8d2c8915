// Package compose holds the docker-compose deployment; Docker is not needed
// to run this test, which checks that the file's services, files, flags and
// ports fit together.
package compose

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/floodgate/floodgate/deploy/roleflags"
)

const repoRoot = "../.."

type composeFile struct {
	Name     string              `yaml:"name"`
	Services map[string]*service `yaml:"services"`
	Ext      map[string]any      `yaml:",inline"` // x-* anchors
}

type service struct {
	Image       string            `yaml:"image"`
	Build       *build            `yaml:"build"`
	Command     []string          `yaml:"command"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   []string          `yaml:"depends_on"`
	Environment map[string]string `yaml:"environment"`
	Restart     string            `yaml:"restart"`
}

type build struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// isFloodgate says whether s runs the image built from this repository.
func (s *service) isFloodgate() bool {
	return s.Build != nil && filepath.Clean(s.Build.Context) == filepath.Clean(repoRoot)
}

func loadCompose(t *testing.T) *composeFile {
	t.Helper()
	raw, err := os.ReadFile("docker-compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c composeFile
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yaml: %v", err)
	}
	for k := range c.Ext {
		if !strings.HasPrefix(k, "x-") {
			t.Errorf("docker-compose.yaml: unknown top-level key %q", k)
		}
	}
	return &c
}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	roles := map[string]int{}
	for _, s := range c.Services {
		if s.isFloodgate() {
			if len(s.Command) > 0 {
				roles[s.Command[0]]++
			}
			continue
		}
		roles[strings.SplitN(s.Image, ":", 2)[0]]++
	}
	want := map[string]int{
		"control-plane": 1, "engine": 2, "rls": 3,
		"redis": 1, "envoyproxy/envoy": 1, "prom/prometheus": 1, "grafana/grafana": 1,
	}
	for k, n := range want {
		if roles[k] != n {
			t.Errorf("%d services of %s, want %d (all: %v)", roles[k], k, n, roles)
		}
	}
	for name, s := range c.Services {
		switch {
		case s.Build != nil:
			df := filepath.Join(s.Build.Context, cmp(s.Build.Dockerfile, "Dockerfile"))
			if _, err := os.Stat(df); err != nil {
				t.Errorf("%s: build: %v", name, err)
			}
		case s.Image == "":
			t.Errorf("%s: neither image nor build", name)
		default:
			_, tag, ok := strings.Cut(s.Image, ":")
			if !ok || tag == "latest" || tag == "" {
				t.Errorf("%s: image %q is not pinned to a tag", name, s.Image)
			}
		}
		for _, d := range s.DependsOn {
			if c.Services[d] == nil {
				t.Errorf("%s: depends_on %q, which is no service", name, d)
			}
		}
	}
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestComposeFilesExist: every file a service mounts is in the repository.
func TestComposeFilesExist(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			host, _, ok := strings.Cut(v, ":")
			if !ok || !strings.HasPrefix(host, ".") {
				continue // a named volume
			}
			if _, err := os.Stat(host); err != nil {
				t.Errorf("%s mounts %s: %v", name, host, err)
			}
		}
	}
}

// TestComposeFloodgateFlags: every command given to the floodgate image is
// a role and flags that role has.
func TestComposeFloodgateFlags(t *testing.T) {
	c := loadCompose(t)
	bin, err := roleflags.Build(context.Background(), repoRoot, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range c.Services {
		if !s.isFloodgate() {
			continue
		}
		if err := bin.Check(s.Command); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// listens maps each service to the ports it listens on inside the compose
// network.
func listens(t *testing.T, c *composeFile) map[string][]int {
	t.Helper()
	ports := map[string][]int{}
	for name, s := range c.Services {
		switch {
		case s.isFloodgate():
			for _, flag := range []string{"--grpc-addr", "--http-addr"} {
				addr := flagValue(s.Command, flag)
				host, port := splitHostPort(t, name+" "+flag, addr)
				if host != "0.0.0.0" && host != "" {
					t.Errorf("%s: %s=%s is not reachable from the other containers", name, flag, addr)
				}
				ports[name] = append(ports[name], port)
			}
		case strings.HasPrefix(s.Image, "redis:"):
			ports[name] = []int{6379}
		case strings.HasPrefix(s.Image, "prom/prometheus:"):
			ports[name] = []int{9090}
		case strings.HasPrefix(s.Image, "grafana/grafana:"):
			ports[name] = []int{3000}
		case strings.HasPrefix(s.Image, "envoyproxy/envoy:"):
			ports[name] = envoyPorts(t, loadEnvoy(t, s))
		}
	}
	return ports
}

func flagValue(args []string, flag string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func splitHostPort(t *testing.T, what, addr string) (string, int) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s: %q: %v", what, addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%s: %q: %v", what, addr, err)
	}
	return host, port
}

// TestComposePorts: every address one service gives for another, every
// published port and every Prometheus target is a port that service
// listens on.
func TestComposePorts(t *testing.T) {
	c := loadCompose(t)
	ports := listens(t, c)
	reach := func(from, addr string) {
		t.Helper()
		host, port := splitHostPort(t, from, addr)
		if c.Services[host] == nil {
			t.Errorf("%s: %s names no service", from, addr)
			return
		}
		if !slices.Contains(ports[host], port) {
			t.Errorf("%s: %s: %s listens on %v", from, addr, host, ports[host])
		}
	}
	for name, s := range c.Services {
		if s.isFloodgate() {
			for _, flag := range []string{"--engine", "--xds"} {
				for _, addr := range strings.Split(flagValue(s.Command, flag), ",") {
					if addr != "" {
						reach(name+" "+flag, addr)
					}
				}
			}
			for _, flag := range []string{"--redis", "--store"} {
				for _, raw := range strings.Split(flagValue(s.Command, flag), ",") {
					if u, err := url.Parse(raw); err == nil && u.Scheme == "redis" {
						reach(name+" "+flag, u.Host)
					}
				}
			}
		}
		for _, p := range s.Ports {
			parts := strings.Split(p, ":")
			port, err := strconv.Atoi(parts[len(parts)-1])
			if err != nil || !slices.Contains(ports[name], port) {
				t.Errorf("%s publishes %q: it listens on %v", name, p, ports[name])
			}
		}
	}
	for job, targets := range prometheusTargets(t) {
		for _, tg := range targets {
			reach("prometheus job "+job, tg)
		}
	}
}

// TestEnvoyReachesEveryReplica: the compose Envoy config's floodgate
// cluster lists exactly the RLS replicas, on their gRPC ports.
func TestEnvoyReachesEveryReplica(t *testing.T) {
	c := loadCompose(t)
	var want, got []string
	for name, s := range c.Services {
		if s.isFloodgate() && s.Command[0] == "rls" {
			_, port := splitHostPort(t, name, flagValue(s.Command, "--grpc-addr"))
			want = append(want, net.JoinHostPort(name, strconv.Itoa(port)))
		}
	}
	for _, s := range c.Services {
		if strings.HasPrefix(s.Image, "envoyproxy/envoy:") {
			got = envoyClusterEndpoints(loadEnvoy(t, s), "floodgate")
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("Envoy's floodgate cluster reaches %v, want the RLS replicas %v", got, want)
	}
}

// TestGrafanaProvisioning: the datasource is the compose Prometheus and the
// dashboard provider reads the directory the dashboard is mounted in.
func TestGrafanaProvisioning(t *testing.T) {
	c := loadCompose(t)
	g := c.Services["grafana"]
	if g == nil {
		t.Fatal("no grafana service")
	}
	var ds struct {
		Datasources []struct{ URL string } `yaml:"datasources"`
	}
	readYAML(t, "grafana/provisioning/datasources/prometheus.yaml", &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("datasources %+v, want one at http://prometheus:9090", ds.Datasources)
	}
	var dash struct {
		Providers []struct {
			Options struct{ Path string } `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "grafana/provisioning/dashboards/floodgate.yaml", &dash)
	mounted := mountsOf(g)
	if mounted["/etc/grafana/provisioning"] != "./grafana/provisioning" {
		t.Errorf("grafana does not mount ./grafana/provisioning at /etc/grafana/provisioning: %v", mounted)
	}
	for _, p := range dash.Providers {
		want := p.Options.Path + "/floodgate.json"
		if mounted[want] != "../grafana/floodgate.json" {
			t.Errorf("dashboard provider reads %s; ../grafana/floodgate.json is mounted at %v", p.Options.Path, mounted)
		}
	}
}

// mountsOf maps a service's container paths to the host paths mounted there.
func mountsOf(s *service) map[string]string {
	m := map[string]string{}
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 {
			m[parts[1]] = parts[0]
		}
	}
	return m
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func prometheusTargets(t *testing.T) map[string][]string {
	t.Helper()
	var p struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus.yml", &p)
	targets := map[string][]string{}
	for _, sc := range p.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets[sc.JobName] = append(targets[sc.JobName], st.Targets...)
		}
	}
	return targets
}

// TestPrometheusScrapesEveryRole: each Floodgate service's HTTP address is
// a target.
func TestPrometheusScrapesEveryRole(t *testing.T) {
	c := loadCompose(t)
	scraped := map[string]bool{}
	for _, targets := range prometheusTargets(t) {
		for _, tg := range targets {
			scraped[tg] = true
		}
	}
	for name, s := range c.Services {
		if !s.isFloodgate() {
			continue
		}
		_, port := splitHostPort(t, name, flagValue(s.Command, "--http-addr"))
		if tg := net.JoinHostPort(name, strconv.Itoa(port)); !scraped[tg] {
			t.Errorf("Prometheus does not scrape %s (%s's /metrics)", tg, name)
		}
	}
}

// TestPrometheusConfig runs promtool on prometheus.yml with its rule files
// read from where compose mounts them from.
func TestPrometheusConfig(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus)")
	}
	c := loadCompose(t)
	mounted := mountsOf(c.Services["prometheus"])
	var cfg map[string]any
	readYAML(t, "prometheus.yml", &cfg)
	var rules []any
	for _, r := range cfg["rule_files"].([]any) {
		host, ok := mounted[r.(string)]
		if !ok {
			t.Fatalf("rule file %s is not mounted into prometheus", r)
		}
		abs, _ := filepath.Abs(host)
		rules = append(rules, abs)
	}
	cfg["rule_files"] = rules
	out, _ := yaml.Marshal(cfg)
	file := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := exec.Command(promtool, "check", "config", file).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, res)
	}
	t.Logf("promtool check config:\n%s", res)
}

// envoyBootstrap is the part of an Envoy bootstrap the port checks read.
type envoyBootstrap struct {
	StaticResources struct {
		Listeners []struct {
			Address envoyAddress `yaml:"address"`
		} `yaml:"listeners"`
		Clusters []struct {
			Name           string `yaml:"name"`
			LoadAssignment struct {
				Endpoints []struct {
					LbEndpoints []struct {
						Endpoint struct {
							Address envoyAddress `yaml:"address"`
						} `yaml:"endpoint"`
					} `yaml:"lb_endpoints"`
				} `yaml:"endpoints"`
			} `yaml:"load_assignment"`
		} `yaml:"clusters"`
	} `yaml:"static_resources"`
	Admin struct {
		Address envoyAddress `yaml:"address"`
	} `yaml:"admin"`
}

type envoyAddress struct {
	SocketAddress struct {
		Address   string `yaml:"address"`
		PortValue int    `yaml:"port_value"`
	} `yaml:"socket_address"`
}

// loadEnvoy reads the Envoy config s mounts at /etc/envoy/envoy.yaml; the
// envoy package's test validates the same file as a bootstrap.
func loadEnvoy(t *testing.T, s *service) *envoyBootstrap {
	t.Helper()
	host := mountsOf(s)["/etc/envoy/envoy.yaml"]
	if host == "" || !slices.Contains(s.Command, "/etc/envoy/envoy.yaml") {
		t.Fatalf("envoy does not run a config mounted at /etc/envoy/envoy.yaml: %v %v", s.Command, s.Volumes)
	}
	if filepath.Dir(filepath.Clean(host)) != filepath.Join(repoRoot, "envoy") {
		t.Errorf("envoy's config %s is not in envoy/, where its bootstrap is validated", host)
	}
	var b envoyBootstrap
	readYAML(t, host, &b)
	return &b
}

// envoyPorts are the ports Envoy listens on for other containers (loopback
// listeners serve only Envoy itself).
func envoyPorts(t *testing.T, b *envoyBootstrap) []int {
	t.Helper()
	var ports []int
	for _, a := range append([]envoyAddress{b.Admin.Address}, listenerAddresses(b)...) {
		if a.SocketAddress.Address != "127.0.0.1" {
			ports = append(ports, a.SocketAddress.PortValue)
		}
	}
	return ports
}

func listenerAddresses(b *envoyBootstrap) []envoyAddress {
	var as []envoyAddress
	for _, l := range b.StaticResources.Listeners {
		as = append(as, l.Address)
	}
	return as
}

func envoyClusterEndpoints(b *envoyBootstrap, cluster string) []string {
	var eps []string
	for _, c := range b.StaticResources.Clusters {
		if c.Name != cluster {
			continue
		}
		for _, e := range c.LoadAssignment.Endpoints {
			for _, lb := range e.LbEndpoints {
				a := lb.Endpoint.Address.SocketAddress
				eps = append(eps, net.JoinHostPort(a.Address, strconv.Itoa(a.PortValue)))
			}
		}
	}
	return eps
}
