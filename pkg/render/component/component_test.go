package component_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/policy"
)

// Every unit becomes a Flux Kustomization: two of one name, or a name too
// long for the label Flux puts on what it applies, are refused, naming
// what renders the unit and how to rename it.
func TestUnitNamesRefused(t *testing.T) {
	long := strings.Repeat("x", 50)
	// copyApp adds a copy of an app under another name.
	copyApp := func(c *model.Cluster, from, name string) {
		app := c.AppsByName[from]
		app.Name = name
		c.AppsByName[name] = app
	}
	for name, tc := range map[string]struct {
		change func(c *model.Cluster)
		path   string
		want   string
	}{
		"an app named like a unit of the cluster": {
			change: func(c *model.Cluster) { copyApp(c, "cvat-redis", "namespaces") },
			path:   "apps.namespaces",
			want:   "the cluster's namespaces and app namespaces would both render Flux Kustomization namespaces; rename the app",
		},
		"an app named like a namespace's policies": {
			change: func(c *model.Cluster) { copyApp(c, "cvat-redis", "network-policies-minio") },
			path:   "apps.network-policies-minio",
			want:   "the NetworkPolicies of namespace minio and app network-policies-minio would both render Flux Kustomization network-policies-minio; rename the app",
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
			// The whole render refuses the model, before it builds anything.
			_, err := render.Render(c)
			if err == nil {
				t.Fatalf("the model renders; want %q", tc.want)
			}
			wantProblem(t, err, tc.path, tc.want)
		})
	}
	m := testModel(t, testCluster(t))
	units, err := component.Render(m)
	if err != nil {
		t.Fatalf("polylab: %v", problemLines(err))
	}
	policies, err := policy.NetworkPolicies(m)
	if err != nil {
		t.Fatalf("polylab: %v", problemLines(err))
	}
	if err := component.CheckNames(append(units, policies...)); err != nil {
		t.Errorf("polylab: %v", problemLines(err))
	}
}

// Render renders the cluster-wide units first, then every app's, and the
// unit that runs what reads the owner's Secrets needs them.
func TestRender(t *testing.T) {
	c := testCluster(t)
	m := testModel(t, c)
	units, err := component.Render(m)
	if err != nil {
		t.Fatalf("polylab: %v", problemLines(err))
	}
	if len(units) < 2 || units[0].Name != "namespaces" || units[1].Name != component.SecretsDir {
		t.Fatalf("the first units are not the namespaces' and the secrets'")
	}
	byName := map[string]component.Unit{}
	for _, u := range units {
		byName[u.Name] = u
		if u.Layer == "" || u.Owner == "" || u.Rename == "" || len(u.Origin) == 0 {
			t.Errorf("unit %s: layer %q, owner %q, rename %q, origin %v; want all", u.Name, u.Layer, u.Owner, u.Rename, u.Origin)
		}
	}
	for _, app := range m.Apps {
		u, ok := byName[app.Name]
		if !ok {
			if app.Component != "k3s-builtin" && app.Component != "flux-builtin" {
				t.Errorf("app %s renders no unit of its name", app.Name)
			}
			continue
		}
		if u.Layer != app.Layer {
			t.Errorf("unit %s is in layer %s, its app in %s", u.Name, u.Layer, app.Layer)
		}
		at, needs := needAt(u, component.SecretsKey)
		if needs != (len(app.Secrets) > 0) || (needs && at != app.Path("secrets").String()) {
			t.Errorf("unit %s needs %v; its app declares %d Secrets", u.Name, u.Needs, len(app.Secrets))
		}
	}
	// The namespaces unit creates every namespace of the apps, but the
	// system ones, which exist before Flux.
	ns := byName["namespaces"]
	var created []string
	for _, o := range ns.Objects {
		created = append(created, o.GetName())
	}
	for _, app := range m.Apps {
		system := slices.Contains(model.SystemNamespaces, app.Namespace)
		if slices.Contains(created, app.Namespace) == system {
			t.Errorf("namespace %s of app %s: created %v, system namespace %v", app.Namespace, app.Name, !system, system)
		}
		if !system && !slices.Contains(ns.Provides, component.Namespace(app.Namespace)) {
			t.Errorf("the namespaces unit does not provide %s", app.Namespace)
		}
	}
}

// The owner's Secrets: a folder of the owner's files, decrypted by Flux,
// after the namespaces they go in, with a README listing what the apps read.
func TestSecrets(t *testing.T) {
	c := testCluster(t)
	// Two apps of one namespace share a Secret, each reading its own keys.
	editApp(c, "cvat", func(app *model.App) {
		for i := range app.Secrets {
			if app.Secrets[i].Name == "cvat-redis" {
				app.Secrets[i].Keys = []string{"password", "username"}
			}
		}
	})
	m := testModel(t, c)
	u := component.Secrets(m)
	if u.Name != component.SecretsDir || u.Layer != model.LayerInfrastructure || !u.Decrypt || !u.OwnerFiles || len(u.Objects) != 0 ||
		!slices.Equal(u.Provides, []component.Key{component.SecretsKey}) {
		t.Errorf("secrets unit %+v, want the owner's files, decrypted, providing the Secrets", u)
	}
	declared := component.DeclaredSecrets(m)
	shared := slices.IndexFunc(declared, func(d component.DeclaredSecret) bool { return d.Namespace == "cvat" && d.Name == "cvat-redis" })
	if shared < 0 {
		t.Fatalf("no declared Secret cvat/cvat-redis among %+v", declared)
	}
	if d := declared[shared]; !slices.Equal(d.Keys, []string{"password", "username"}) || !slices.Equal(d.Apps, []string{"cvat", "cvat-redis"}) {
		t.Errorf("cvat/cvat-redis: keys %v used by %v; want every key the apps read, and both apps", d.Keys, d.Apps)
	}
	readme := string(u.Files["README.md"])
	for _, want := range []string{"# Secrets of polylab", "| cvat | cvat-redis | `password`, `username` | cvat, cvat-redis |", "sops --encrypt"} {
		if !strings.Contains(readme, want) {
			t.Errorf("the secrets README lacks %q:\n%s", want, readme)
		}
	}
	for _, d := range declared {
		if !strings.Contains(readme, "| "+d.Namespace+" | "+d.Name+" |") {
			t.Errorf("the secrets README does not list %s/%s", d.Namespace, d.Name)
		}
		if _, ok := needAt(u, component.Namespace(d.Namespace)); !ok {
			t.Errorf("the secrets unit does not need namespace %s, which holds Secret %s", d.Namespace, d.Name)
		}
	}
}

// RenderApp refuses an app no component renders, or without the block
// its component renders from.
func TestRenderAppRefuses(t *testing.T) {
	c := testCluster(t)
	editApp(c, "cvat-redis", func(app *model.App) { app.Component = "redis" })
	renderErr(t, c, "cvat-redis", "apps.cvat-redis.component", `no renderer for component "redis"`, "container")

	for _, tc := range []struct {
		app, block string
		drop       func(app *model.App)
	}{
		{"cvat", "helm", func(app *model.App) { app.Helm = nil }},
		{"cvat-redis", "container", func(app *model.App) { app.Container = nil }},
		{"yolo11x-cvat-detector-gpu", "function", func(app *model.App) { app.Function = nil }},
		{"kube-vip", "image", func(app *model.App) { app.Image = "" }},
	} {
		c := testCluster(t)
		editApp(c, tc.app, tc.drop)
		renderErr(t, c, tc.app, "apps."+tc.app, "needs a "+tc.block+" block")
	}
}

// TestBuiltins: the components that describe what others install render
// nothing, and only in their own namespace.
func TestBuiltins(t *testing.T) {
	for _, tc := range []struct{ name, ns string }{{"k3s", "kube-system"}, {"flux", "flux-system"}} {
		c := testCluster(t)
		if units := renderUnits(t, c, tc.name); len(units) != 0 {
			t.Errorf("%s renders %d units, want none", tc.name, len(units))
		}
		editApp(c, tc.name, func(app *model.App) { app.Namespace = "elsewhere" })
		renderErr(t, c, tc.name, "apps."+tc.name+".namespace", "set namespace: \""+tc.ns+"\"")

		c = testCluster(t)
		ip := freeIP(t, c, 0)
		editApp(c, tc.name, func(app *model.App) {
			app.Workloads[0].LoadBalancers = []model.LoadBalancer{{IP: ip}}
		})
		renderErr(t, c, tc.name, "apps."+tc.name+".workloads.0.loadBalancers", "renders nothing")
	}
	// What a builtin app may hold, the schema says: it installs nothing,
	// so it has no block to install from.
	cueErr(t, "zz_extra.cue", "", `cluster: apps: k3s: image: "example.org/x:1"`, "apps.k3s.image", "field not allowed")
	cueErr(t, "zz_extra.cue", "", `cluster: apps: flux: helm: chart: {repository: "https://charts.example.com", name: "x", version: "1.0.0"}`, "apps.flux.helm", "field not allowed")
	cueErr(t, "zz_extra.cue", "", `cluster: apps: k3s: namespace: "elsewhere"`, "apps.k3s.namespace", "kube-system")
}

// The container component renders one Deployment or StatefulSet and a
// Service of every port: it refuses what those cannot hold.
func TestContainerRefuses(t *testing.T) {
	c := testCluster(t)
	editApp(c, "cvat-redis", func(app *model.App) {
		app.Workloads[0].Ports = append(app.Workloads[0].Ports, model.Port{Name: "repl", Port: 6000, TargetPort: 6000, EndPort: 6010, Protocol: "TCP"})
	})
	renderErr(t, c, "cvat-redis", "apps.cvat-redis.workloads.0.ports.1.endPort", "the container component renders a Service of every port", "6000-6010")

	c = testCluster(t)
	editApp(c, "cvat-redis", func(app *model.App) {
		app.Workloads = append(app.Workloads, model.Workload{Name: "replica", Selector: map[string]string{"app": "replica"}})
	})
	for i := range c.Flows {
		if c.Flows[i].To == "cvat-redis" {
			c.Flows[i].To = "cvat-redis/cvat-redis"
		}
	}
	renderErr(t, c, "cvat-redis", "apps.cvat-redis.workloads", "container app cvat-redis runs one workload, not 2")
}

// TestSettingQuantities: every quantity a component reads from its
// settings is parsed as the API server will, and refused where it is
// written, before a chart is given "1GB".
func TestSettingQuantities(t *testing.T) {
	for _, tc := range []struct{ app, setting string }{
		{"minio", "size"}, {"minio", "memory"},
		{"cvat", "storageSize"}, {"cvat", "cacheSize"},
		{"clearml", "fileserverSize"}, {"clearml", "elasticsearchSize"},
	} {
		for bad, want := range map[string]string{"1GB": "is not a Kubernetes quantity", "50 Gi": "is not a Kubernetes quantity", "-2Gi": "is negative"} {
			c := testCluster(t)
			editSettings(t, c, tc.app, func(s map[string]any) { s[tc.setting] = bad })
			renderErr(t, c, tc.app, "apps."+tc.app+".settings."+tc.setting, want)
		}
		c := testCluster(t)
		editSettings(t, c, tc.app, func(s map[string]any) { s[tc.setting] = "3Gi" })
		renderUnits(t, c, tc.app)
	}
}
