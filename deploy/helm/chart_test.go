// Package helm tests the Floodgate chart: helm lint and helm template with
// the default values and with TLS, the engine token and the ServiceMonitor,
// every rendered manifest decoded strictly into its Kubernetes API type,
// every container argument a flag of its role, and the probes. It is a
// module of its own so that the Kubernetes API types stay out of
// Floodgate's build.
package helm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/floodgate/floodgate/deploy/roleflags"
)

// helmModule is run, as the issue asks, from its Go module: no helm binary
// needs installing.
const helmModule = "helm.sh/helm/v3/cmd/helm@v3.22.0"

const (
	chart    = "floodgate"
	repoRoot = "../.."
	release  = "fg"
)

// A values set the tests render the chart with.
type valuesSet struct {
	name string
	set  []string // --set arguments
	tls  bool
}

var valuesSets = []valuesSet{
	{name: "default"},
	{name: "tls-servicemonitor-token", tls: true, set: []string{
		"tls.enabled=true", "serviceMonitor.enabled=true",
		"engineToken.enabled=true", "engineToken.token=s3cret",
		"redis.brokers={redis://broker-a:6379/0,redis://broker-b:6379/0}",
		"counterStore.url=redis+sentinel://sentinel:26379/counters",
	}},
	{name: "memcached", set: []string{"counterStore.type=memcached", `counterStore.memcached=memcached-0:11211\,memcached-1:11211`}},
}

var (
	tools     sync.Once
	helmPath  string
	helmErr   error
	binary    *roleflags.Binary
	binaryErr error
)

// setup builds helm (once per test binary, into a temporary GOBIN) and
// floodgate; without the helm module (no network, no module cache) the
// test is skipped.
func setup(t *testing.T) (string, *roleflags.Binary) {
	t.Helper()
	tools.Do(func() {
		dir, err := os.MkdirTemp("", "floodgate-helm-test")
		if err != nil {
			helmErr = err
			return
		}
		cmd := exec.Command("go", "install", helmModule)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			helmErr = fmt.Errorf("go install %s: %v\n%s", helmModule, err, out)
		}
		helmPath = filepath.Join(dir, "helm")
		binary, binaryErr = roleflags.Build(context.Background(), repoRoot, dir)
	})
	if helmErr != nil {
		t.Skipf("helm cannot be built here (its module cannot be fetched?): %v", helmErr)
	}
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return helmPath, binary
}

func runHelm(t *testing.T, args ...string) string {
	t.Helper()
	helm, _ := setup(t)
	cmd := exec.Command(helm, args...)
	// helm keeps no state between runs here: no repositories, no cache.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

func setArgs(v valuesSet) []string {
	var args []string
	for _, s := range v.set {
		args = append(args, "--set", s)
	}
	return args
}

func TestLint(t *testing.T) {
	for _, v := range valuesSets {
		t.Run(v.name, func(t *testing.T) {
			out := runHelm(t, append([]string{"lint", "--strict", chart}, setArgs(v)...)...)
			t.Logf("helm lint %s:\n%s", strings.Join(v.set, " "), out)
		})
	}
}

// manifests are one render's objects by kind.
type manifests struct {
	deployments []appsv1.Deployment
	services    []corev1.Service
	configMaps  []corev1.ConfigMap
	secrets     []corev1.Secret
	pdbs        []policyv1.PodDisruptionBudget
	monitors    []serviceMonitor
}

// serviceMonitor is the part of prometheus-operator's ServiceMonitor the
// chart writes; decoding strictly into it catches a misspelt field, not a
// field the operator's schema lacks.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"endpoints"`
	} `json:"spec"`
}

func render(t *testing.T, v valuesSet) manifests {
	t.Helper()
	out := runHelm(t, append([]string{"template", release, chart}, setArgs(v)...)...)
	var m manifests
	for _, doc := range strings.Split(out, "\n---") {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		var err error
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			err = decodeInto(doc, &m.deployments)
		case "v1 Service":
			err = decodeInto(doc, &m.services)
		case "v1 ConfigMap":
			err = decodeInto(doc, &m.configMaps)
		case "v1 Secret":
			err = decodeInto(doc, &m.secrets)
		case "policy/v1 PodDisruptionBudget":
			err = decodeInto(doc, &m.pdbs)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			err = decodeInto(doc, &m.monitors)
		default:
			err = fmt.Errorf("unexpected %s %s", tm.APIVersion, tm.Kind)
		}
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", tm.APIVersion, tm.Kind, err, doc)
		}
	}
	return m
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// decodeInto decodes doc strictly (no unknown or duplicate fields) and
// appends it to list.
func decodeInto[T any](doc string, list *[]T) error {
	var v T
	if err := yaml.UnmarshalStrict([]byte(doc), &v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

func TestTemplate(t *testing.T) {
	for _, v := range valuesSets {
		t.Run(v.name, func(t *testing.T) {
			_, bin := setup(t)
			m := render(t, v)
			checkNames(t, m)
			roles := map[string]bool{}
			for _, d := range m.deployments {
				c := d.Spec.Template.Spec.Containers[0]
				role := c.Args[0]
				roles[role] = true
				if err := bin.Check(c.Args); err != nil {
					t.Errorf("deployment %s: %v", d.Name, err)
				}
				checkProbes(t, d.Name, role, c, v.tls)
				checkMounts(t, d, m)
				if !labels.SelectorFromSet(d.Spec.Selector.MatchLabels).Matches(labels.Set(d.Spec.Template.Labels)) {
					t.Errorf("deployment %s: selector %v does not select its pods %v", d.Name, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
				}
			}
			if want := []string{"control-plane", "engine", "rls"}; !equalKeys(roles, want) {
				t.Errorf("deployments run roles %v, want %v", roles, want)
			}
			checkServices(t, m)
			checkPDBs(t, m)
			checkMonitors(t, m, v)
			checkPolicies(t, bin, m)
		})
	}
}

func equalKeys(m map[string]bool, want []string) bool {
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	return slices.Equal(got, want)
}

// checkNames: every object's name is one Kubernetes accepts and every label
// value a valid one.
func checkNames(t *testing.T, m manifests) {
	t.Helper()
	var metas []metav1.ObjectMeta
	for _, d := range m.deployments {
		metas = append(metas, d.ObjectMeta, d.Spec.Template.ObjectMeta)
	}
	for _, s := range m.services {
		metas = append(metas, s.ObjectMeta)
		if errs := validation.IsDNS1035Label(s.Name); len(errs) > 0 {
			t.Errorf("service %s: %v", s.Name, errs)
		}
	}
	for _, c := range m.configMaps {
		metas = append(metas, c.ObjectMeta)
	}
	for _, p := range m.pdbs {
		metas = append(metas, p.ObjectMeta)
	}
	for _, meta := range metas {
		if meta.Name != "" {
			if errs := validation.IsDNS1123Subdomain(meta.Name); len(errs) > 0 {
				t.Errorf("%s: %v", meta.Name, errs)
			}
		}
		for k, v := range meta.Labels {
			if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
				t.Errorf("%s: label %s=%s: %v", meta.Name, k, v, errs)
			}
		}
	}
}

// readinessService is the gRPC health service each role's readiness asks:
// the RLS answers for envoyproxy/ratelimit's name, the control plane for
// its discovery service; an engine serves only "".
var readinessService = map[string]string{
	"rls":           "ratelimit",
	"engine":        "",
	"control-plane": "envoy.service.discovery.v3.AggregatedDiscoveryService",
}

var readinessPath = map[string]string{"rls": "/healthcheck", "engine": "/healthcheck", "control-plane": "/healthz"}

func checkProbes(t *testing.T, name, role string, c corev1.Container, tls bool) {
	t.Helper()
	ports := map[int32]string{}
	for _, p := range c.Ports {
		ports[p.ContainerPort] = p.Name
	}
	r, l := c.ReadinessProbe, c.LivenessProbe
	if r == nil || l == nil {
		t.Fatalf("deployment %s: readiness %v, liveness %v", name, r, l)
	}
	switch {
	case tls:
		// Kubernetes' gRPC probes cannot speak TLS.
		if r.HTTPGet == nil || r.HTTPGet.Path != readinessPath[role] || r.HTTPGet.Port.String() != "http" {
			t.Errorf("deployment %s (TLS): readiness %+v, want GET %s on http", name, r.ProbeHandler, readinessPath[role])
		}
		if r.GRPC != nil || l.GRPC != nil {
			t.Errorf("deployment %s (TLS): a gRPC probe on a TLS listener", name)
		}
	default:
		if r.GRPC == nil || r.GRPC.Service == nil || *r.GRPC.Service != readinessService[role] {
			t.Errorf("deployment %s: readiness %+v, want gRPC health of %q", name, r.ProbeHandler, readinessService[role])
		} else if ports[r.GRPC.Port] != "grpc" {
			t.Errorf("deployment %s: readiness asks port %d, not the grpc port", name, r.GRPC.Port)
		}
		if role != "rls" && (l.GRPC == nil || ports[l.GRPC.Port] != "grpc") {
			t.Errorf("deployment %s: liveness %+v, want gRPC health on the grpc port", name, l.ProbeHandler)
		}
	}
	if role == "rls" && (l.TCPSocket == nil || l.TCPSocket.Port.String() != "grpc") {
		t.Errorf("deployment %s: liveness %+v, want the grpc port open (a replica with engines down is alive)", name, l.ProbeHandler)
	}
	// The listener flags and the container ports agree.
	for _, flag := range []string{"--grpc-addr=:", "--http-addr=:"} {
		found := false
		for _, a := range c.Args {
			if p, ok := strings.CutPrefix(a, flag); ok {
				found = true
				var port int32
				fmt.Sscan(p, &port)
				if want := strings.TrimSuffix(strings.TrimPrefix(flag, "--"), "-addr=:"); ports[port] != want {
					t.Errorf("deployment %s: %s%s, but container port %d is named %q", name, flag, p, port, ports[port])
				}
			}
		}
		if !found {
			t.Errorf("deployment %s: no %s", name, flag)
		}
	}
}

// checkMounts: every file argument lies under a volume mount, every mount
// has its volume, and every volume's ConfigMap or Secret is rendered (the
// TLS secret excepted: the operator provides it).
func checkMounts(t *testing.T, d appsv1.Deployment, m manifests) {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	volumes := map[string]corev1.Volume{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	for _, vm := range c.VolumeMounts {
		v, ok := volumes[vm.Name]
		if !ok {
			t.Errorf("deployment %s: mount %s has no volume", d.Name, vm.Name)
			continue
		}
		switch {
		case v.ConfigMap != nil && !slices.ContainsFunc(m.configMaps, func(c corev1.ConfigMap) bool { return c.Name == v.ConfigMap.Name }):
			t.Errorf("deployment %s: volume %s: no ConfigMap %s", d.Name, v.Name, v.ConfigMap.Name)
		case v.Secret != nil && v.Name != "tls" && !slices.ContainsFunc(m.secrets, func(s corev1.Secret) bool { return s.Name == v.Secret.SecretName }):
			t.Errorf("deployment %s: volume %s: no Secret %s", d.Name, v.Name, v.Secret.SecretName)
		}
	}
	for _, a := range c.Args {
		_, val, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(val, "/") {
			continue
		}
		if !slices.ContainsFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool {
			return strings.HasPrefix(val, vm.MountPath+"/") || val == vm.MountPath
		}) {
			t.Errorf("deployment %s: %s names a file under no volume mount", d.Name, a)
		}
	}
}

// checkServices: each Service selects one Deployment's pods, on ports the
// pods name.
func checkServices(t *testing.T, m manifests) {
	t.Helper()
	for _, s := range m.services {
		sel := labels.SelectorFromSet(s.Spec.Selector)
		var matched []appsv1.Deployment
		for _, d := range m.deployments {
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				matched = append(matched, d)
			}
		}
		if len(matched) != 1 {
			t.Errorf("service %s selects %d deployments", s.Name, len(matched))
			continue
		}
		c := matched[0].Spec.Template.Spec.Containers[0]
		for _, p := range s.Spec.Ports {
			if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
				return cp.Name == p.TargetPort.String() && cp.ContainerPort == p.Port
			}) {
				t.Errorf("service %s: port %s (%d -> %s) is no container port of %s", s.Name, p.Name, p.Port, p.TargetPort.String(), matched[0].Name)
			}
		}
	}
}

func checkPDBs(t *testing.T, m manifests) {
	t.Helper()
	if len(m.pdbs) != len(m.deployments) {
		t.Errorf("%d PodDisruptionBudgets for %d deployments", len(m.pdbs), len(m.deployments))
	}
	for _, p := range m.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil {
			t.Fatalf("pdb %s: %v", p.Name, err)
		}
		n := 0
		for _, d := range m.deployments {
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				n++
			}
		}
		if n != 1 || p.Spec.MaxUnavailable == nil {
			t.Errorf("pdb %s: selects %d deployments, maxUnavailable %v", p.Name, n, p.Spec.MaxUnavailable)
		}
	}
}

// checkMonitors: a ServiceMonitor only when asked for, scraping /metrics on
// the http port of every role's Service.
func checkMonitors(t *testing.T, m manifests, v valuesSet) {
	t.Helper()
	want := slices.Contains(v.set, "serviceMonitor.enabled=true")
	if len(m.monitors) != map[bool]int{false: 0, true: 1}[want] {
		t.Fatalf("%d ServiceMonitors, want one only with serviceMonitor.enabled", len(m.monitors))
	}
	for _, mon := range m.monitors {
		sel, err := metav1.LabelSelectorAsSelector(&mon.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range m.services {
			if !sel.Matches(labels.Set(s.Labels)) {
				t.Errorf("ServiceMonitor does not select service %s", s.Name)
			}
			for _, ep := range mon.Spec.Endpoints {
				if ep.Path != "/metrics" || !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
					t.Errorf("ServiceMonitor endpoint %+v: service %s has no such port", ep, s.Name)
				}
			}
		}
	}
}

// checkPolicies lays the policies ConfigMap out as a ConfigMap volume does
// (files linked through ..data) and runs floodgate check-config on it.
func checkPolicies(t *testing.T, bin *roleflags.Binary, m manifests) {
	t.Helper()
	if len(m.configMaps) != 1 {
		t.Fatalf("%d ConfigMaps, want the policies", len(m.configMaps))
	}
	dir := t.TempDir()
	ts := filepath.Join(dir, "..2026_01_01_00_00_00.1")
	if err := os.Mkdir(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for name, data := range m.configMaps[0].Data {
		if err := os.WriteFile(filepath.Join(ts, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(bin.Path, "check-config", "--strict", dir).CombinedOutput()
	if err != nil {
		t.Errorf("floodgate check-config on the policies ConfigMap: %v\n%s", err, out)
	}
}
