package component_test

import (
	"strings"
	"testing"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// Every unit becomes a Flux Kustomization: two of one name, or a name too
// long for the label Flux puts on what it applies, are refused, naming
// what renders the unit and how to rename it.
func TestUnitNamesRefused(t *testing.T) {
	long := strings.Repeat("x", 50)
	for name, tc := range map[string]struct {
		change func(c *model.Cluster)
		want   string
	}{
		"an app named like a unit of the cluster": {
			change: func(c *model.Cluster) {
				app := testApp(t, c, "cvat-redis")
				app.Name = "namespaces"
				c.Apps[app.Name] = app
			},
			want: "the cluster's namespaces and app namespaces would both render Flux Kustomization namespaces; rename the app",
		},
		"an app named like a namespace's policies": {
			change: func(c *model.Cluster) {
				app := testApp(t, c, "cvat-redis")
				app.Name = "network-policies-minio"
				c.Apps[app.Name] = app
			},
			want: "the NetworkPolicies of namespace minio and app network-policies-minio would both render Flux Kustomization network-policies-minio; rename the app",
		},
		"a namespace too long for its policies' unit": {
			change: func(c *model.Cluster) { editApp(c, "minio", func(app *model.App) { app.Namespace = long }) },
			want: "the NetworkPolicies of namespace " + long + " would render Flux Kustomization network-policies-" + long +
				", whose name has 67 characters: Flux labels what it applies with the name (kustomize.toolkit.fluxcd.io/name), and a label value has at most 63; shorten the namespace's name",
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := testCluster(t)
			tc.change(c)
			if _, err := component.Render(c); err == nil || err.Error() != tc.want {
				t.Errorf("error %v\nwant %s", err, tc.want)
			}
		})
	}
	if _, err := component.Render(testCluster(t)); err != nil {
		t.Errorf("polylab: %v", err)
	}
}
