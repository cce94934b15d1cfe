package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func object(apiVersion, kind, namespace, name string) kube.Object {
	gv, _ := schema.ParseGroupVersion(apiVersion)
	return &corev1.ConfigMap{TypeMeta: kube.TypeMeta(gv, kind), ObjectMeta: kube.Meta(name, namespace)}
}

// TestDependsOnIsDerived checks each kind of edge the engine derives.
func TestDependsOnIsDerived(t *testing.T) {
	units := []component.Unit{
		{Name: "namespaces", Objects: []kube.Object{object("v1", "Namespace", "", "lb")}, Provides: []component.Key{component.Namespace("lb")}},
		{Name: "metallb", Objects: []kube.Object{object("helm.toolkit.fluxcd.io/v2", "HelmRelease", "lb", "metallb")},
			Provides: []component.Key{component.APIGroup("metallb.io")}},
		{Name: "metallb-config", Objects: []kube.Object{object("metallb.io/v1beta1", "IPAddressPool", "lb", "pool")}},
		{Name: "storage", Provides: []component.Key{component.StorageClass("fast")}},
		{Name: "db", Needs: []component.Need{{Key: component.StorageClass("fast"), At: model.Path{"apps", "db", "storageClass"}}}},
	}
	edges, err := dependsOn(units)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for unit, es := range edges {
		got[unit] = names(es)
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

// TestDependsOnRefuses checks each refusal names the model value that
// causes it, and says why.
func TestDependsOnRefuses(t *testing.T) {
	at := func(app, field string) model.Path { return model.Path{"apps", app, field} }
	for name, tc := range map[string]struct {
		units []component.Unit
		want  []string
		path  model.Path
	}{
		"missing provider": {
			units: []component.Unit{{Name: "db", Needs: []component.Need{{Key: component.StorageClass("fats"), At: at("db", "storageClass")}}},
				{Name: "storage", Provides: []component.Key{component.StorageClass("fast")}}},
			want: []string{"needs StorageClass fats, which no app provides", "needs StorageClass fats, which no app provides; did you mean fast?"},
			path: at("db", "storageClass"),
		},
		"two providers": {
			units: []component.Unit{
				{Name: "a", Owner: "app a", Origin: model.Path{"apps", "a"}, Provides: []component.Key{component.APIGroup("x.io")}},
				{Name: "b", Owner: "app b", Origin: model.Path{"apps", "b"}, Provides: []component.Key{component.APIGroup("x.io")}}},
			want: []string{"app a and app b both provide the CRDs of API group x.io"},
			path: model.Path{"apps", "b"},
		},
		"cycle": {
			units: []component.Unit{
				{Name: "a", Provides: []component.Key{component.StorageClass("a")}, Needs: []component.Need{{Key: component.StorageClass("b"), At: at("a", "storageClass")}}},
				{Name: "b", Provides: []component.Key{component.StorageClass("b")}, Needs: []component.Need{{Key: component.StorageClass("a"), At: at("b", "storageClass")}}},
			},
			want: []string{"the units depend on each other in a circle", "a needs StorageClass b, which b provides", "b needs StorageClass a, which a provides", "drop one of these needs"},
			path: at("a", "storageClass"),
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := dependsOn(tc.units)
			var problems model.Problems
			if !errors.As(err, &problems) || len(problems) != 1 {
				t.Fatalf("err = %v, want one problem", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(problems[0].Message, w) {
					t.Errorf("message %q does not say %q", problems[0].Message, w)
				}
			}
			if problems[0].Value.String() != tc.path.String() {
				t.Errorf("problem at %s, want %s", problems[0].Value, tc.path)
			}
		})
	}
}
