package deploy_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/fumehood/fumehood/analysis"
	"github.com/fumehood/fumehood/api"
	"github.com/fumehood/fumehood/internal/testenv"
	"github.com/fumehood/fumehood/sandbox"
)

// manifests decodes every document of kubernetes/*.yaml strictly (an
// unknown or misspelt field fails) into its Kubernetes API type, by kind.
func manifests(t *testing.T) []any {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	types := map[string]func() any{
		"v1/Namespace":       func() any { return &corev1.Namespace{} },
		"v1/Service":         func() any { return &corev1.Service{} },
		"v1/ConfigMap":       func() any { return &corev1.ConfigMap{} },
		"apps/v1/Deployment": func() any { return &appsv1.Deployment{} },
		"apps/v1/DaemonSet":  func() any { return &appsv1.DaemonSet{} },
	}
	var objs []any
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			newObj, ok := types[tm.APIVersion+"/"+tm.Kind]
			if !ok {
				t.Errorf("%s document %d: kind %s/%s is not one the test knows", f, i, tm.APIVersion, tm.Kind)
				continue
			}
			obj := newObj()
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Errorf("%s document %d (%s): %v", f, i, tm.Kind, err)
				continue
			}
			objs = append(objs, obj)
		}
	}
	return objs
}

func find[T any](t *testing.T, objs []any, name string, nameOf func(T) string) T {
	t.Helper()
	for _, o := range objs {
		if x, ok := o.(T); ok && nameOf(x) == name {
			return x
		}
	}
	var zero T
	t.Fatalf("no %T named %s in the manifests", zero, name)
	return zero
}

// TestKubernetesManifests checks what the manifests promise: serve runs
// unprivileged without sandboxes, workers run privileged on the sandbox
// nodes with the node's containerd socket and mounts that propagate back,
// settings come from the ConfigMap and Secret, and Redis and PostgreSQL are
// references to services that exist elsewhere.
func TestKubernetesManifests(t *testing.T) {
	objs := manifests(t)
	for _, o := range objs {
		if m, ok := o.(metav1.Object); ok && m.GetName() != "fumehood" && m.GetNamespace() != "fumehood" {
			t.Errorf("%T %s: not in namespace fumehood", o, m.GetName())
		}
	}
	serve := find(t, objs, "fumehood-serve", func(d *appsv1.Deployment) string { return d.Name })
	worker := find(t, objs, "fumehood-worker", func(d *appsv1.DaemonSet) string { return d.Name })
	config := find(t, objs, "fumehood", func(c *corev1.ConfigMap) string { return c.Name })
	svc := find(t, objs, "fumehood", func(s *corev1.Service) string { return s.Name })

	sp := serve.Spec.Template.Spec
	sc := sp.Containers[0]
	if psc := sp.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("serve: want runAsNonRoot")
	}
	if c := sc.SecurityContext; c == nil || c.Privileged != nil && *c.Privileged || c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation ||
		c.Capabilities == nil || !slices.Equal(c.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("serve: want no privilege, no escalation, every capability dropped: %+v", sc.SecurityContext)
	}
	if !slices.Equal(sc.Args[:3], []string{"serve", "--workers", "0"}) {
		t.Errorf("serve args %q: want serve --workers 0 (no sandboxes without privileges)", sc.Args)
	}
	for k, v := range svc.Spec.Selector {
		if serve.Spec.Template.Labels[k] != v {
			t.Errorf("service fumehood selects %s=%s, which serve's pods lack", k, v)
		}
	}

	wp := worker.Spec.Template.Spec
	wc := wp.Containers[0]
	for _, c := range slices.Concat(sp.Containers, wp.InitContainers, wp.Containers) {
		if c.Image != sandbox.AppImageRef || c.ImagePullPolicy != corev1.PullIfNotPresent {
			t.Errorf("%s: image %s, pull policy %q; want %s (`make image` writes it, nodes import it) and IfNotPresent",
				c.Name, c.Image, c.ImagePullPolicy, sandbox.AppImageRef)
		}
	}
	if wc.SecurityContext == nil || wc.SecurityContext.Privileged == nil || !*wc.SecurityContext.Privileged {
		t.Errorf("worker: want privileged")
	}
	if wp.NodeSelector["fumehood.dev/sandbox"] != "true" {
		t.Errorf("worker: want a node selector of the sandbox nodes, have %v", wp.NodeSelector)
	}
	mountsOf := func(c corev1.Container) map[string]corev1.VolumeMount {
		mounts := map[string]corev1.VolumeMount{}
		for _, m := range c.VolumeMounts {
			mounts[m.MountPath] = m
		}
		return mounts
	}
	mounts := mountsOf(wc)
	hostPaths := map[string]string{}
	for _, v := range wp.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	// Before the worker starts, the sandbox image is imported into the
	// node's containerd from the node's image cache.
	if len(wp.InitContainers) != 1 {
		t.Fatalf("worker: %d init containers, want 1 that imports the sandbox image", len(wp.InitContainers))
	}
	ic := wp.InitContainers[0]
	if len(ic.Args) < 3 || !slices.Equal(ic.Args[:2], []string{"image", "import"}) || !strings.HasPrefix(ic.Args[len(ic.Args)-1], "/var/cache/fumehood/") {
		t.Errorf("worker init container args %q: want image import of a tar in /var/cache/fumehood", ic.Args)
	}
	for _, path := range []string{"/run/containerd/containerd.sock", "/var/cache/fumehood"} {
		if m, ok := mountsOf(ic)[path]; !ok || hostPaths[m.Name] != path {
			t.Errorf("worker init container: want the host's %s mounted at %s", path, path)
		}
	}
	for _, path := range []string{"/run/containerd/containerd.sock", "/run/fumehood", "/run/netns", "/sys"} {
		if m, ok := mounts[path]; !ok || hostPaths[m.Name] != path {
			t.Errorf("worker: want the host's %s mounted at %s", path, path)
		}
	}
	for _, path := range []string{"/run/fumehood", "/run/netns"} {
		if p := mounts[path].MountPropagation; p == nil || *p != corev1.MountPropagationBidirectional {
			t.Errorf("worker: %s: want bidirectional mount propagation (containerd must see the worker's mounts)", path)
		}
	}
	if !wp.HostPID {
		t.Errorf("worker: want the host's PID namespace (the probes see host pids)")
	}

	for _, c := range []corev1.Container{sc, wc} {
		var refs []string
		for _, e := range c.EnvFrom {
			switch {
			case e.ConfigMapRef != nil:
				refs = append(refs, "configmap/"+e.ConfigMapRef.Name)
			case e.SecretRef != nil:
				refs = append(refs, "secret/"+e.SecretRef.Name)
			}
		}
		if !slices.Equal(refs, []string{"configmap/fumehood", "secret/fumehood"}) {
			t.Errorf("%s: settings from %v, want the ConfigMap and the Secret fumehood", c.Name, refs)
		}
	}
	for key, service := range map[string]string{"FUMEHOOD_REDIS": "fumehood-redis"} {
		if !strings.HasPrefix(config.Data[key], service+":") {
			t.Errorf("ConfigMap %s = %q: want the service %s", key, config.Data[key], service)
		}
	}
	for _, name := range []string{"fumehood-redis", "fumehood-postgres"} {
		s := find(t, objs, name, func(s *corev1.Service) string { return s.Name })
		if s.Spec.Type != corev1.ServiceTypeExternalName || s.Spec.ExternalName == "" {
			t.Errorf("service %s: want an ExternalName reference to the existing service", name)
		}
	}
}

// TestSystemdUnits has systemd check the units (an unknown or misplaced
// directive is reported), and checks the decisions they carry: serve runs
// as an unprivileged dynamic user with no capability; the worker runs as
// root without a mount namespace of its own (containerd must see its
// mounts).
func TestSystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	testenv.Require(t, err == nil, "systemd-analyze (Debian's systemd)")
	dir := t.TempDir()
	units := map[string]map[string][]string{}
	for _, name := range []string{"fumehood-serve.service", "fumehood-worker.service"} {
		b, err := os.ReadFile(filepath.Join("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		// verify wants ExecStart's program to exist.
		test := strings.ReplaceAll(string(b), "/usr/local/bin/fumehood", "/bin/true")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(test), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", filepath.Join(dir, name)).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
		}
		directives := map[string][]string{}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
				directives[k] = append(directives[k], v)
			}
		}
		units[name] = directives
	}
	serve, worker := units["fumehood-serve.service"], units["fumehood-worker.service"]
	for k, want := range map[string]string{
		"DynamicUser": "yes", "NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "ProtectSystem": "strict",
		"PrivateDevices": "yes", "RestrictNamespaces": "yes", "MemoryDenyWriteExecute": "yes",
	} {
		if got := serve[k]; !slices.Equal(got, []string{want}) {
			t.Errorf("serve: %s=%q, want %q", k, got, want)
		}
	}
	if !strings.Contains(serve["ExecStart"][0], "--workers 0") {
		t.Errorf("serve: ExecStart %q: want --workers 0", serve["ExecStart"][0])
	}
	if got := worker["User"]; !slices.Equal(got, []string{"root"}) {
		t.Errorf("worker: User=%q, want root (containerd, eBPF)", got)
	}
	for _, k := range []string{"ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelModules",
		"ProtectKernelLogs", "ProtectKernelTunables", "ProtectControlGroups", "ReadWritePaths", "ReadOnlyPaths", "TemporaryFileSystem", "PrivateMounts"} {
		if v, ok := worker[k]; ok {
			t.Errorf("worker: %s=%q gives the worker a mount namespace of its own: containerd would not see its mounts", k, v)
		}
	}
	if got := worker["NoNewPrivileges"]; !slices.Equal(got, []string{"yes"}) {
		t.Errorf("worker: NoNewPrivileges=%q, want yes", got)
	}
}

type noQueues struct{}

func (noQueues) QueueDepths(context.Context) (map[string]int, error) {
	return map[string]int{"interactive": 0}, nil
}

// oneWorker is a farm of one worker that published its metrics.
type oneWorker struct{ published []byte }

func (o oneWorker) WorkerMetrics(context.Context) (map[string][]byte, error) {
	return map[string][]byte{"host:1": o.published}, nil
}

func (oneWorker) InFlight(context.Context) (map[string]int, error) {
	return map[string]int{"host:1": 1}, nil
}

// TestGrafanaDashboard checks that the dashboard is JSON Grafana imports
// (panels with queries on the datasource variable) and that every metric
// its queries name is one fumehood serves (api.Metrics, serve's farm view
// included) or Prometheus adds.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana/fumehood-farm.json")
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr string `json:"expr"`
	}
	var d struct {
		UID    string `json:"uid"`
		Title  string `json:"title"`
		Panels []struct {
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []target `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) == 0 {
		t.Fatalf("dashboard without uid, title or panels")
	}

	// A vector shows once it has a value: count an analysis and a failure,
	// in serve and in a worker whose metrics serve's farm view reads.
	m := api.NewMetrics(noQueues{})
	w := api.NewMetrics(nil)
	for _, p := range []*api.Metrics{m, w} {
		p.Analysis(&analysis.Analysis{Verdict: analysis.Benign, Phases: []analysis.Phase{{Name: "install", DurationMS: 900, Events: 10}}})
		p.SandboxFailure()
	}
	published, err := w.Exposition()
	if err != nil {
		t.Fatal(err)
	}
	m.AddFarm(oneWorker{published})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	served := map[string]bool{"up": true} // Prometheus's own, per target
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)`).FindAllStringSubmatch(string(body), -1) {
		served[m[1]] = true
		if m[2] == "histogram" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				served[m[1]+s] = true
			}
		}
	}
	names := regexp.MustCompile(`\b(fumehood_[a-z_]+|up)\b`)
	for _, p := range d.Panels {
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: want queries on the datasource variable", p.Title)
		}
		for _, tg := range p.Targets {
			found := names.FindAllString(tg.Expr, -1)
			if len(found) == 0 {
				t.Errorf("panel %q: query %q names no metric", p.Title, tg.Expr)
			}
			for _, n := range found {
				if !served[n] {
					t.Errorf("panel %q: query %q: fumehood serves no metric %s", p.Title, tg.Expr, n)
				}
			}
		}
	}
}
