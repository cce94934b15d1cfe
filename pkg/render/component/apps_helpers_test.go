package component_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	corev1 "k8s.io/api/core/v1"

	cuemodule "github.com/polylab/polylab-gitops/cue"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// The real polylab model, loaded once; each test gets a copy to change.
var (
	appsOnce  sync.Once
	appsModel []byte
	appsErr   error
)

func appsCluster(t *testing.T) *model.Cluster {
	t.Helper()
	appsOnce.Do(func() {
		c, err := render.Load(render.Source{FS: cuemodule.FS, Display: "cue"}, "polylab")
		if err != nil {
			appsErr = err
			return
		}
		appsModel, appsErr = json.Marshal(c)
	})
	if appsErr != nil {
		t.Fatalf("loading the polylab model: %v", appsErr)
	}
	var c model.Cluster
	if err := json.Unmarshal(appsModel, &c); err != nil {
		t.Fatalf("copying the model: %v", err)
	}
	return &c
}

// appsApp returns an app of the model.
func appsApp(t *testing.T, c *model.Cluster, name string) model.App {
	t.Helper()
	app, ok := c.Apps[name]
	if !ok {
		t.Fatalf("the model has no app %q", name)
	}
	return app
}

// appsEdit changes an app of the model in place.
func appsEdit(c *model.Cluster, name string, edit func(app *model.App)) {
	app := c.Apps[name]
	edit(&app)
	c.Apps[name] = app
}

// appsWorkload returns a pointer to an app's workload, for edits.
func appsWorkload(t *testing.T, app *model.App, name string) *model.Workload {
	t.Helper()
	for i := range app.Workloads {
		if app.Workloads[i].Name == name {
			return &app.Workloads[i]
		}
	}
	t.Fatalf("app %s has no workload %q", app.Name, name)
	return nil
}

// appsPort returns a workload's port by name.
func appsPort(t *testing.T, w model.Workload, name string) model.Port {
	t.Helper()
	i := slices.IndexFunc(w.Ports, func(p model.Port) bool { return p.Name == name })
	if i < 0 {
		t.Fatalf("workload %s has no port %q", w.Name, name)
	}
	return w.Ports[i]
}

// appsWorkloadOf returns an app's workload by name.
func appsWorkloadOf(t *testing.T, app model.App, name string) model.Workload {
	t.Helper()
	return *appsWorkload(t, &app, name)
}

// appsRender renders one app with a component and returns its only unit.
func appsRender(t *testing.T, f component.Func, c *model.Cluster, name string) component.Unit {
	t.Helper()
	units, err := f(c, appsApp(t, c, name))
	if err != nil {
		t.Fatalf("rendering %s: %v", name, err)
	}
	if len(units) != 1 {
		t.Fatalf("rendering %s: %d units, want 1", name, len(units))
	}
	for _, o := range units[0].Objects {
		if gvk := kube.GVK(o); gvk.Kind == "" || gvk.Version == "" {
			t.Errorf("%T %s has no apiVersion/kind", o, o.GetName())
		}
		if _, err := kube.Marshal(o); err != nil {
			t.Errorf("%s does not print: %v", kube.Ref(o), err)
		}
	}
	return units[0]
}

// appsRenderErr renders one app and returns the error, failing if none.
func appsRenderErr(t *testing.T, f component.Func, c *model.Cluster, name string, wantIn ...string) {
	t.Helper()
	_, err := f(c, appsApp(t, c, name))
	if err == nil {
		t.Fatalf("rendering %s succeeded; want an error mentioning %q", name, wantIn)
	}
	for _, s := range wantIn {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

// appsFind returns the object of type T named name (any name if empty).
func appsFind[T kube.Object](t *testing.T, objects []kube.Object, name string) T {
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

// appsAll returns the objects of type T.
func appsAll[T kube.Object](objects []kube.Object) []T {
	var out []T
	for _, o := range objects {
		if typed, ok := o.(T); ok {
			out = append(out, typed)
		}
	}
	return out
}

// appsValues decodes the values of the only HelmRelease among objects.
func appsValues(t *testing.T, objects []kube.Object) map[string]any {
	t.Helper()
	hr := appsFind[*helmv2.HelmRelease](t, objects, "")
	values := map[string]any{}
	if hr.Spec.Values == nil {
		return values
	}
	if err := json.Unmarshal(hr.Spec.Values.Raw, &values); err != nil {
		t.Fatalf("HelmRelease %s: values: %v", hr.Name, err)
	}
	return values
}

// appsDig follows a dotted path into nested values; nil if any is missing.
func appsDig(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
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

// appsCheckValues compares values with the expected ones.
func appsCheckValues(t *testing.T, values map[string]any, cases []valueCase) {
	t.Helper()
	for _, tc := range cases {
		got := appsDig(values, tc.path)
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(tc.want)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("values %s = %s, want %s", tc.path, gotJSON, wantJSON)
		}
	}
}

// appsLBService returns the LoadBalancer Service named name.
func appsLBService(t *testing.T, objects []kube.Object, name string) *corev1.Service {
	t.Helper()
	svc := appsFind[*corev1.Service](t, objects, name)
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Errorf("Service %s has type %s, want LoadBalancer", name, svc.Spec.Type)
	}
	return svc
}

// appsSecretNames are the names of the app's Secrets.
func appsSecretNames(app model.App) []string {
	var names []string
	for _, s := range app.Secrets {
		names = append(names, s.Name)
	}
	return names
}
