package component_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"

	cuemodule "github.com/polylab/polylab-gitops/cue"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/internal/modeltest"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// What the renderer's tests share (internal/modeltest).
var (
	testCluster  = modeltest.Cluster
	testModel    = modeltest.Model
	editApp      = modeltest.EditApp
	problemsOf   = modeltest.Problems
	problemLines = modeltest.ProblemLines
	wantProblem  = modeltest.WantProblem
	selects      = modeltest.Selects
)

// testApp returns the named app of the cluster, failing if it is missing.
func testApp(t *testing.T, c *model.Cluster, name string) model.App {
	t.Helper()
	app, ok := c.AppsByName[name]
	if !ok {
		t.Fatalf("the model has no app %q", name)
	}
	return app
}

// settingsOf decodes an app's settings into S, as the component reads them.
func settingsOf[S any](t *testing.T, app model.App) S {
	t.Helper()
	var s S
	if err := json.Unmarshal(app.Settings, &s); err != nil {
		t.Fatalf("app %s: settings: %v", app.Name, err)
	}
	return s
}

// editSettings changes an app's settings as a map of JSON values, so a
// test can drop or misspell a setting.
func editSettings(t *testing.T, c *model.Cluster, name string, edit func(s map[string]any)) {
	t.Helper()
	editApp(c, name, func(app *model.App) { editAppSettings(t, app, edit) })
}

// editAppSettings is editSettings on an app being edited.
func editAppSettings(t *testing.T, app *model.App, edit func(s map[string]any)) {
	t.Helper()
	s := map[string]any{}
	if len(app.Settings) > 0 {
		if err := json.Unmarshal(app.Settings, &s); err != nil {
			t.Fatalf("app %s: settings: %v", app.Name, err)
		}
	}
	edit(s)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	app.Settings = b
}

// dropFlows removes the flows that start or end at ref (an app, or
// app/workload), so the model stays valid without it.
func dropFlows(c *model.Cluster, ref string) {
	c.Flows = slices.DeleteFunc(c.Flows, func(f model.Flow) bool { return f.From == ref || f.To == ref })
}

// testWorkload returns a pointer to an app's workload, for edits.
func testWorkload(t *testing.T, app *model.App, name string) *model.Workload {
	t.Helper()
	for i := range app.Workloads {
		if app.Workloads[i].Name == name {
			return &app.Workloads[i]
		}
	}
	t.Fatalf("app %s has no workload %q", app.Name, name)
	return nil
}

// workloadOf returns an app's workload by name.
func workloadOf(t *testing.T, app model.App, name string) model.Workload {
	t.Helper()
	return *testWorkload(t, &app, name)
}

// testPort returns a workload's port by name.
func testPort(t *testing.T, w model.Workload, name string) model.Port {
	t.Helper()
	i := slices.IndexFunc(w.Ports, func(p model.Port) bool { return p.Name == name })
	if i < 0 {
		t.Fatalf("workload %s has no port %q", w.Name, name)
	}
	return w.Ports[i]
}

// renderUnits validates the cluster and renders one of its apps with its
// component, failing on error; every object must have an apiVersion and
// kind, and print.
func renderUnits(t *testing.T, c *model.Cluster, name string) []component.Unit {
	t.Helper()
	m := testModel(t, c)
	app := m.App(name)
	if app == nil {
		t.Fatalf("the model has no app %q", name)
	}
	units, err := component.RenderApp(m, app)
	if err != nil {
		t.Fatalf("rendering %s: %v", name, problemLines(err))
	}
	for _, u := range units {
		for _, o := range u.Objects {
			if gvk := kube.GVK(o); gvk.Kind == "" || gvk.Version == "" {
				t.Errorf("unit %s: %T %s has no apiVersion/kind", u.Name, o, o.GetName())
			}
			if _, err := kube.Marshal(o); err != nil {
				t.Errorf("unit %s: %s does not print: %v", u.Name, kube.Ref(o), err)
			}
		}
	}
	return units
}

// renderApp renders one app and returns its only unit.
func renderApp(t *testing.T, c *model.Cluster, name string) component.Unit {
	t.Helper()
	units := renderUnits(t, c, name)
	if len(units) != 1 {
		t.Fatalf("rendering %s: %d units, want 1", name, len(units))
	}
	return units[0]
}

// renderErr validates the cluster, renders one app, and fails unless the
// render reports a problem of the value at path (any value if path is
// empty) whose message mentions each of wantIn.
func renderErr(t *testing.T, c *model.Cluster, name, path string, wantIn ...string) {
	t.Helper()
	m := testModel(t, c)
	_, err := component.RenderApp(m, m.App(name))
	if err == nil {
		t.Fatalf("rendering %s succeeded; want a problem of %s mentioning %q", name, path, wantIn)
	}
	wantProblem(t, err, path, wantIn...)
}

// validateErr fails unless the model's validation refuses the cluster
// with a problem of the value at path mentioning each of wantIn.
func validateErr(t *testing.T, c *model.Cluster, path string, wantIn ...string) {
	t.Helper()
	_, err := model.Validate(c)
	if err == nil {
		t.Fatalf("the model is valid; want a problem of %s mentioning %q", path, wantIn)
	}
	wantProblem(t, err, path, wantIn...)
}

// cueErr loads the polylab cluster from the CUE module with one file of
// clusters/polylab changed (old replaced by new, old occurring once; or,
// when old is empty, a new file holding new), and fails unless loading
// reports a problem of the value at path mentioning each of wantIn. It
// checks what the schema refuses, which a cluster built in Go never meets.
func cueErr(t *testing.T, file, old, new, path string, wantIn ...string) {
	t.Helper()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(cuemodule.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := cuemodule.FS.ReadFile(name)
		fsys[name] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	name := "clusters/polylab/" + file
	if old == "" {
		if _, exists := fsys[name]; exists {
			t.Fatalf("%s exists", name)
		}
		fsys[name] = &fstest.MapFile{Data: []byte("package polylab\n\n" + new + "\n")}
	} else {
		f, ok := fsys[name]
		if !ok || strings.Count(string(f.Data), old) != 1 {
			t.Fatalf("%s does not hold %q exactly once", name, old)
		}
		fsys[name] = &fstest.MapFile{Data: []byte(strings.Replace(string(f.Data), old, new, 1))}
	}
	_, err = render.Load(render.Source{FS: fsys, Display: "cue"}, "polylab")
	var ps model.Problems
	switch {
	case err == nil:
		t.Fatalf("the changed CUE loads; want a problem of %s mentioning %q", path, wantIn)
	case !errors.As(err, &ps):
		t.Fatalf("loading: %v; want Problems", err)
	}
	wantProblem(t, err, path, wantIn...)
}

// findObject returns the object of type T named name (any name if empty).
func findObject[T kube.Object](t *testing.T, objects []kube.Object, name string) T {
	t.Helper()
	for _, o := range objects {
		if typed, ok := o.(T); ok && (name == "" || o.GetName() == name) {
			return typed
		}
	}
	var zero T
	t.Fatalf("no %T named %q among %d objects", zero, name, len(objects))
	return zero
}

// allObjects returns the objects of type T.
func allObjects[T kube.Object](objects []kube.Object) []T {
	var out []T
	for _, o := range objects {
		if typed, ok := o.(T); ok {
			out = append(out, typed)
		}
	}
	return out
}

// helmValues decodes the values of the (first) HelmRelease among objects.
func helmValues(t *testing.T, objects []kube.Object) map[string]any {
	t.Helper()
	hr := findObject[*helmv2.HelmRelease](t, objects, "")
	values := map[string]any{}
	if hr.Spec.Values == nil {
		return values
	}
	if err := json.Unmarshal(hr.Spec.Values.Raw, &values); err != nil {
		t.Fatalf("HelmRelease %s: values: %v", hr.Name, err)
	}
	return values
}

// dig follows keys into nested values; nil if any is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// valueCase is one expected Helm value: a dotted path and its value as
// JSON decodes it (numbers are float64).
type valueCase struct {
	path string
	want any
}

// checkValues compares values with the expected ones.
func checkValues(t *testing.T, values map[string]any, cases []valueCase) {
	t.Helper()
	for _, tc := range cases {
		got := dig(values, strings.Split(tc.path, ".")...)
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(tc.want)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("values %s = %s, want %s", tc.path, gotJSON, wantJSON)
		}
	}
}

// checkChart asserts that the chart source and release follow the app's
// pinned chart and the app's name and namespace.
func checkChart(t *testing.T, app model.App, objects []kube.Object) {
	t.Helper()
	hr := findObject[*helmv2.HelmRelease](t, objects, app.Name)
	if hr.Namespace != app.Namespace {
		t.Errorf("HelmRelease namespace = %q, want %q", hr.Namespace, app.Namespace)
	}
	if hr.Spec.Chart == nil {
		t.Fatalf("HelmRelease %s has no chart template", hr.Name)
	}
	spec := hr.Spec.Chart.Spec
	if spec.Chart != app.Helm.Chart.Name || spec.Version != app.Helm.Chart.Version {
		t.Errorf("HelmRelease chart = %s %s, want %s %s", spec.Chart, spec.Version, app.Helm.Chart.Name, app.Helm.Chart.Version)
	}
	repo := findObject[*sourcev1.HelmRepository](t, objects, spec.SourceRef.Name)
	if repo.Spec.URL != app.Helm.Chart.Repository || repo.Namespace != app.Namespace {
		t.Errorf("HelmRepository = %s in %s, want %s in %s", repo.Spec.URL, repo.Namespace, app.Helm.Chart.Repository, app.Namespace)
	}
}

// lbService returns the LoadBalancer Service named name.
func lbService(t *testing.T, objects []kube.Object, name string) *corev1.Service {
	t.Helper()
	svc := findObject[*corev1.Service](t, objects, name)
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Errorf("Service %s has type %s, want LoadBalancer", name, svc.Spec.Type)
	}
	return svc
}

// secretNames are the names of the app's Secrets.
func secretNames(app model.App) []string {
	var names []string
	for _, s := range app.Secrets {
		names = append(names, s.Name)
	}
	return names
}

// serviceHost is the in-cluster name of a container app's Service.
func serviceHost(c *model.Cluster, app model.App) string {
	return app.Name + "." + app.Namespace + ".svc." + c.Domain
}

// tolerates reports whether any of the tolerations lets a pod onto a node
// with the taint, as the scheduler decides with the Equal and Exists
// operators.
func tolerates(tolerations []corev1.Toleration, taint model.Taint) bool {
	return slices.ContainsFunc(tolerations, func(tol corev1.Toleration) bool {
		if tol.Effect != "" && string(tol.Effect) != taint.Effect {
			return false
		}
		switch tol.Operator {
		case corev1.TolerationOpExists:
			return tol.Key == "" || tol.Key == taint.Key
		case corev1.TolerationOpEqual, "":
			return tol.Key == taint.Key && tol.Value == taint.Value
		}
		return false
	})
}

// freeIP returns the pool address after skip free ones that no
// LoadBalancer of the cluster claims: a LoadBalancer IP a test may give.
func freeIP(t *testing.T, c *model.Cluster, skip int) netip.Addr {
	t.Helper()
	claimed := map[netip.Addr]bool{}
	for _, app := range c.AppsByName {
		for _, w := range append(slices.Clone(app.Workloads), app.Helpers...) {
			for _, lb := range w.LoadBalancers {
				claimed[lb.IP] = true
			}
		}
	}
	pool := c.Network.LoadBalancerPool
	for a := pool.First; pool.Contains(a); a = a.Next() {
		if claimed[a] {
			continue
		}
		if skip == 0 {
			return a
		}
		skip--
	}
	t.Fatalf("the pool %s has too few free addresses", pool)
	return netip.Addr{}
}

// workloadPath is the path of a value of an app's workload, such as
// apps.clearml.workloads.1.selector, as problems name it.
func workloadPath(t *testing.T, c *model.Cluster, app, workload string, sub ...any) string {
	t.Helper()
	a := testApp(t, c, app)
	i := slices.IndexFunc(a.Workloads, func(w model.Workload) bool { return w.Name == workload })
	if i < 0 {
		t.Fatalf("app %s has no workload %q", app, workload)
	}
	return a.Path("workloads", i).With(sub...).String()
}

// fixed is a path that does not depend on the cluster.
func fixed(path string) func(*testing.T, *model.Cluster) string {
	return func(*testing.T, *model.Cluster) string { return path }
}

// needAt returns where the unit's need of key comes from, if it has it.
func needAt(u component.Unit, key component.Key) (string, bool) {
	for _, n := range u.Needs {
		if n.Key == key {
			return n.At.String(), true
		}
	}
	return "", false
}
