package component_test

import (
	"encoding/json"
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

// The real polylab model, loaded once and handed out as fresh copies so
// that a test may change its copy freely.
var (
	infraOnce  sync.Once
	infraModel []byte
	infraErr   error
)

// infraCluster returns a private copy of the polylab model.
func infraCluster(t *testing.T) *model.Cluster {
	t.Helper()
	infraOnce.Do(func() {
		c, err := render.Load(render.Source{FS: cuemodule.FS, Display: "cue"}, "polylab")
		if err != nil {
			infraErr = err
			return
		}
		infraModel, infraErr = json.Marshal(c)
	})
	if infraErr != nil {
		t.Fatalf("loading the polylab model: %v", infraErr)
	}
	var c model.Cluster
	if err := json.Unmarshal(infraModel, &c); err != nil {
		t.Fatalf("copying the model: %v", err)
	}
	return &c
}

// infraApp returns the named app of the model, failing if it is missing.
func infraApp(t *testing.T, c *model.Cluster, name string) model.App {
	t.Helper()
	app, ok := c.Apps[name]
	if !ok {
		t.Fatalf("the model has no app %q", name)
	}
	return app
}

// infraRender runs a component on an app of the model and fails on error.
func infraRender(t *testing.T, f component.Func, c *model.Cluster, name string) []component.Unit {
	t.Helper()
	units, err := f(c, infraApp(t, c, name))
	if err != nil {
		t.Fatalf("rendering %s: %v", name, err)
	}
	for _, u := range units {
		for _, o := range u.Objects {
			if kube.GVK(o).Kind == "" || kube.GVK(o).Version == "" {
				t.Errorf("unit %s: %T %s has no apiVersion/kind", u.Name, o, o.GetName())
			}
		}
	}
	return units
}

// infraFind returns the object of type T named name (any name if empty).
func infraFind[T kube.Object](t *testing.T, objects []kube.Object, name string) T {
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

// infraValues decodes the values of the HelmRelease among objects.
func infraValues(t *testing.T, objects []kube.Object) map[string]any {
	t.Helper()
	hr := infraFind[*helmv2.HelmRelease](t, objects, "")
	values := map[string]any{}
	if hr.Spec.Values == nil {
		return values
	}
	if err := json.Unmarshal(hr.Spec.Values.Raw, &values); err != nil {
		t.Fatalf("HelmRelease %s: values: %v", hr.Name, err)
	}
	return values
}

// infraDig follows keys into nested values; nil if any is missing.
func infraDig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// infraChecksChart asserts that the chart source and release follow the
// app's pinned chart and the app's name and namespace.
func infraChecksChart(t *testing.T, app model.App, objects []kube.Object) {
	t.Helper()
	hr := infraFind[*helmv2.HelmRelease](t, objects, app.Name)
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
	repo := infraFind[*sourcev1.HelmRepository](t, objects, spec.SourceRef.Name)
	if repo.Spec.URL != app.Helm.Chart.Repository || repo.Namespace != app.Namespace {
		t.Errorf("HelmRepository = %s in %s, want %s in %s", repo.Spec.URL, repo.Namespace, app.Helm.Chart.Repository, app.Namespace)
	}
}

// infraTolerates reports whether a toleration tolerates a model taint,
// as the scheduler decides with the Equal and Exists operators.
func infraTolerates(tol corev1.Toleration, taint model.Taint) bool {
	if tol.Effect != "" && string(tol.Effect) != taint.Effect {
		return false
	}
	if tol.Key == "" {
		return tol.Operator == corev1.TolerationOpExists
	}
	if tol.Key != taint.Key {
		return false
	}
	switch tol.Operator {
	case corev1.TolerationOpExists:
		return true
	case corev1.TolerationOpEqual, "":
		return tol.Value == taint.Value
	}
	return false
}
