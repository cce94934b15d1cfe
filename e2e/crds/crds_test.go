package crds_test

import (
	"context"
	"strings"
	"testing"

	"github.com/polylab/polylab-gitops/e2e/crds"
	"github.com/polylab/polylab-gitops/e2e/tools"
	"github.com/polylab/polylab-gitops/pkg/render"
)

func TestNuclio(t *testing.T) {
	got := crds.Nuclio()
	if len(got) != 2 {
		t.Fatalf("Nuclio() returned %d CRDs, want 2", len(got))
	}
	for i, want := range []struct{ name, kind string }{
		{"nucliofunctions.nuclio.io", "NuclioFunction"},
		{"nuclioprojects.nuclio.io", "NuclioProject"},
	} {
		crd := got[i]
		if crd.Name != want.name || crd.Spec.Names.Kind != want.kind || crd.Spec.Scope != "Namespaced" {
			t.Errorf("CRD %d = %s (kind %s, scope %s), want %s (kind %s, Namespaced)",
				i, crd.Name, crd.Spec.Names.Kind, crd.Spec.Scope, want.name, want.kind)
		}
		v := crd.Spec.Versions
		if len(v) != 1 || v[0].Name != "v1beta1" || !v[0].Served || !v[0].Storage {
			t.Fatalf("%s: versions %+v, want one served storage v1beta1", crd.Name, v)
		}
		if v[0].Subresources != nil {
			t.Errorf("%s: has subresources %+v, want none (no status subresource)", crd.Name, v[0].Subresources)
		}
		s := v[0].Schema.OpenAPIV3Schema
		if s.XPreserveUnknownFields == nil || !*s.XPreserveUnknownFields {
			t.Errorf("%s: schema does not preserve unknown fields", crd.Name)
		}
	}
}

// TestLoad reads the CRDs from the module cache (downloading the modules and
// building controller-gen if needed).
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads modules and may build controller-gen; skipped under -short")
	}
	ctx := context.Background()
	cg, err := tools.ControllerGen.Ensure(ctx, t.Output())
	if err != nil {
		t.Fatal(err)
	}
	all, err := crds.Load(ctx, cg)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, crd := range all {
		names[crd.Name] = true
	}
	for _, want := range []string{
		"gitrepositories.source.toolkit.fluxcd.io",
		"ocirepositories.source.toolkit.fluxcd.io",
		"helmrepositories.source.toolkit.fluxcd.io",
		"kustomizations.kustomize.toolkit.fluxcd.io",
		"helmreleases.helm.toolkit.fluxcd.io",
		"ipaddresspools.metallb.io",
		"l2advertisements.metallb.io",
		"helmcharts.helm.cattle.io",
		"helmchartconfigs.helm.cattle.io",
		"nucliofunctions.nuclio.io",
		"nuclioprojects.nuclio.io",
	} {
		if !names[want] {
			t.Errorf("CRD %s missing; have %d CRDs", want, len(all))
		}
	}
}

// TestFluxInstance reads the Flux Operator's CRD from the module's zip,
// checked against the checksum database's hash, and finds the fields the
// renderer sets.
func TestFluxInstance(t *testing.T) {
	got, err := crds.FluxInstance(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "fluxinstances.fluxcd.controlplane.io" {
		t.Fatalf("FluxInstance() = %d CRDs, want fluxinstances.fluxcd.controlplane.io", len(got))
	}
	v := got[0].Spec.Versions
	if len(v) == 0 || v[0].Name != "v1" {
		t.Fatalf("versions %+v, want v1", v)
	}
	spec := v[0].Schema.OpenAPIV3Schema.Properties["spec"]
	for _, field := range []string{"distribution", "components", "cluster"} {
		if _, ok := spec.Properties[field]; !ok {
			t.Errorf("FluxInstance spec has no %s", field)
		}
	}
}

// TestFluxOperatorIsThePinnedOne: the FluxInstance CRD the proof installs
// is the one of the Flux Operator the cluster pins in versions.cue, so a
// bump there cannot leave the proof on the old CRD.
func TestFluxOperatorIsThePinnedOne(t *testing.T) {
	m, err := render.Load(render.DirSource("../../cue"), "polylab")
	if err != nil {
		t.Fatal(err)
	}
	if pinned := "v" + strings.TrimPrefix(m.Versions.FluxOperator.Version, "v"); pinned != crds.FluxOperatorVersion {
		t.Errorf("versions.cue pins the Flux Operator %s, but e2e/crds installs the FluxInstance CRD of %s: set FluxOperatorVersion in e2e/crds/fluxoperator.go to %s, with the go.sum hash of %s@%s", pinned, crds.FluxOperatorVersion, pinned, crds.FluxOperatorModule, pinned)
	}
}
