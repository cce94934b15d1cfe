package flux_test

import (
	"slices"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"

	cuemodule "github.com/polylab/polylab-gitops/cue"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/flux"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func TestInstance(t *testing.T) {
	loaded, err := render.Load(render.Source{FS: cuemodule.FS, Display: "cue"}, "polylab")
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Validate(loaded.Cluster)
	if err != nil {
		t.Fatal(err)
	}
	var chart *kube.HelmChart
	var instance *kube.FluxInstance
	for _, o := range flux.Instance(m) {
		switch o := o.(type) {
		case *kube.HelmChart:
			chart = o
		case *kube.FluxInstance:
			instance = o
		}
	}
	if chart == nil || instance == nil {
		t.Fatalf("Instance renders %v, want a HelmChart and a FluxInstance", flux.Instance(m))
	}

	op := m.Versions.FluxOperator
	if chart.Namespace != model.KubeSystem || chart.Spec.TargetNamespace != model.FluxNamespace ||
		chart.Spec.Version != op.Version || !strings.HasSuffix(chart.Spec.Chart, "/"+op.Name) || !strings.HasPrefix(chart.Spec.Chart, strings.TrimSuffix(op.Repository, "/")) {
		t.Errorf("HelmChart %s/%s installs %s %s into %s; want the pinned %s/%s %s into %s",
			chart.Namespace, chart.Name, chart.Spec.Chart, chart.Spec.Version, chart.Spec.TargetNamespace, op.Repository, op.Name, op.Version, model.FluxNamespace)
	}
	// The web UI, which no flow asks for, is off.
	var values struct {
		Web struct {
			Enabled *bool `json:"enabled"`
		} `json:"web"`
	}
	if err := sigsyaml.UnmarshalStrict([]byte(chart.Spec.ValuesContent), &values); err != nil {
		t.Fatalf("valuesContent %q: %v", chart.Spec.ValuesContent, err)
	}
	if values.Web.Enabled == nil || *values.Web.Enabled {
		t.Errorf("valuesContent %q leaves the operator's web UI on", chart.Spec.ValuesContent)
	}

	if instance.Name != "flux" || instance.Namespace != model.FluxNamespace {
		t.Errorf("FluxInstance %s/%s, want flux/%s: the operator reconciles only that one", instance.Namespace, instance.Name, model.FluxNamespace)
	}
	s := instance.Spec
	if "v"+s.Distribution.Version != m.Versions.Flux {
		t.Errorf("FluxInstance version %s, want the pinned %s", s.Distribution.Version, m.Versions.Flux)
	}
	if s.Cluster == nil || !s.Cluster.NetworkPolicy || s.Cluster.Domain != m.Domain {
		t.Errorf("cluster %+v, want Flux's NetworkPolicies and domain %s", s.Cluster, m.Domain)
	}
	// Every controller the model describes runs.
	for _, app := range m.AppsByName {
		if app.Component != "flux-builtin" {
			continue
		}
		for _, w := range app.Workloads {
			if strings.HasSuffix(w.Name, "-controller") && !slices.Contains(s.Components, w.Name) {
				t.Errorf("the model describes %s, which the FluxInstance does not run (%v)", w.Name, s.Components)
			}
		}
	}
}
