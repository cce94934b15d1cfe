package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
)

func object(apiVersion, kind, namespace, name string) kube.Object {
	gv, _ := schema.ParseGroupVersion(apiVersion)
	return &corev1.ConfigMap{TypeMeta: kube.TypeMeta(gv, kind), ObjectMeta: kube.Meta(name, namespace)}
}

// TestDependsOnIsDerived checks each kind of edge the engine derives.
func TestDependsOnIsDerived(t *testing.T) {
	units := []component.Unit{
		{Name: "namespaces", Objects: []kube.Object{object("v1", "Namespace", "", "lb")}, Provides: []string{component.Namespace("lb")}},
		{Name: "metallb", Objects: []kube.Object{object("helm.toolkit.fluxcd.io/v2", "HelmRelease", "lb", "metallb")},
			Provides: []string{component.APIGroup("metallb.io")}},
		{Name: "metallb-config", Objects: []kube.Object{object("metallb.io/v1beta1", "IPAddressPool", "lb", "pool")}},
		{Name: "storage", Provides: []string{component.StorageClass("fast")}},
		{Name: "db", Needs: []string{component.StorageClass("fast")}},
	}
	got, err := dependsOn(units)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"namespaces":     nil,
		"metallb":        {"namespaces"},
		"metallb-config": {"metallb", "namespaces"},
		"storage":        nil,
		"db":             {"storage"},
	}
	if diff := cmp.Diff(want, got, cmp.Transformer("nilEmpty", func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return s
	})); diff != "" {
		t.Errorf("dependsOn (-want +got):\n%s", diff)
	}
}

func TestDependsOnRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		units []component.Unit
		want  string
	}{
		"missing provider": {
			units: []component.Unit{{Name: "db", Needs: []string{component.StorageClass("fast")}}},
			want:  "unit db needs StorageClass fast, which no app provides",
		},
		"two providers": {
			units: []component.Unit{{Name: "a", Provides: []string{component.APIGroup("x.io")}}, {Name: "b", Provides: []string{component.APIGroup("x.io")}}},
			want:  "units a and b both provide api:x.io",
		},
		"cycle": {
			units: []component.Unit{
				{Name: "a", Provides: []string{component.StorageClass("a")}, Needs: []string{component.StorageClass("b")}},
				{Name: "b", Provides: []string{component.StorageClass("b")}, Needs: []string{component.StorageClass("a")}},
			},
			want: "the units depend on each other in a circle: a -> b -> a",
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := dependsOn(tc.units)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
