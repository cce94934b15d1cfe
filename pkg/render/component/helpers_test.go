package component_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"

	cuemodule "github.com/polylab/polylab-gitops/cue"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// The real polylab model, loaded once and kept as JSON, so that each test
// gets a deep copy it may change freely.
var (
	modelOnce sync.Once
	modelJSON []byte
	modelErr  error
)

// testCluster returns a private copy of the polylab model.
func testCluster(t *testing.T) *model.Cluster {
	t.Helper()
	modelOnce.Do(func() {
		c, err := render.Load(render.Source{FS: cuemodule.FS, Display: "cue"}, "polylab")
		if err != nil {
			modelErr = err
			return
		}
		modelJSON, modelErr = json.Marshal(c)
	})
	if modelErr != nil {
		t.Fatalf("loading the polylab model: %v", modelErr)
	}
	var c model.Cluster
	if err := json.Unmarshal(modelJSON, &c); err != nil {
		t.Fatalf("copying the model: %v", err)
	}
	return &c
}

// testApp returns the named app of the model, failing if it is missing.
func testApp(t *testing.T, c *model.Cluster, name string) model.App {
	t.Helper()
	app, ok := c.Apps[name]
	if !ok {
		t.Fatalf("the model has no app %q", name)
	}
	return app
}

// editApp changes an app of the model in place.
func editApp(c *model.Cluster, name string, edit func(app *model.App)) {
	app := c.Apps[name]
	edit(&app)
	c.Apps[name] = app
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

// renderUnits runs a component on an app of the model and fails on error;
// every object must have an apiVersion and kind, and print.
func renderUnits(t *testing.T, f component.Func, c *model.Cluster, name string) []component.Unit {
	t.Helper()
	units, err := f(c, testApp(t, c, name))
	if err != nil {
		t.Fatalf("rendering %s: %v", name, err)
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

// renderApp renders one app with a component and returns its only unit.
func renderApp(t *testing.T, f component.Func, c *model.Cluster, name string) component.Unit {
	t.Helper()
	units := renderUnits(t, f, c, name)
	if len(units) != 1 {
		t.Fatalf("rendering %s: %d units, want 1", name, len(units))
	}
	return units[0]
}

// renderErr renders one app and fails unless that fails with an error
// mentioning each of wantIn.
func renderErr(t *testing.T, f component.Func, c *model.Cluster, name string, wantIn ...string) {
	t.Helper()
	_, err := f(c, testApp(t, c, name))
	if err == nil {
		t.Fatalf("rendering %s succeeded; want an error mentioning %q", name, wantIn)
	}
	for _, s := range wantIn {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
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

// selects reports whether a selector (of pods or nodes) matches the labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
