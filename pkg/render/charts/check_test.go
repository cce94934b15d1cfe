package charts

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	polylab "github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/verify"
)

// tinyCluster is a cluster with one app, web, installed by the test chart
// app (release web in namespace web): a web server with a LoadBalancer,
// the chart's hook Job, and a worker the web server starts at run time.
func tinyCluster() *model.Cluster {
	ip := netip.MustParseAddr
	cidr := netip.MustParsePrefix
	return &model.Cluster{
		Name: "tiny",
		Flux: model.Flux{URL: "https://git.example/tiny.git", Branch: "main"},
		Versions: model.Versions{K3s: "v1.35.7+k3s1", Flux: "v2.9.4",
			FluxOperator: model.Chart{Repository: "oci://registry.example/charts", Name: "flux-operator", Version: "0.59.0"}},
		Network: model.Network{LAN: cidr("192.0.2.0/24"), Pods: cidr("10.42.0.0/16"), Services: cidr("10.43.0.0/16"),
			APIVIP: ip("192.0.2.5"), APIPort: 6443, SSHPort: 22,
			LoadBalancerPool: model.Pool{First: ip("192.0.2.200"), Last: ip("192.0.2.220")}},
		NodePorts: []model.NodePort{{Port: 6443, Protocol: "TCP", On: []model.Role{model.Server}, From: []string{"nodes", "lan"}}},
		Nodes:     []model.Node{{Name: "s1", IP: ip("192.0.2.11"), Role: model.Server}},
		Externals: []model.External{{Name: "lan", CIDR: cidr("192.0.2.0/24")}},
		AppsByName: map[string]model.App{
			"web": {Name: "web", Namespace: "web", Component: "helm", Layer: model.LayerApps,
				Helm: &model.Helm{Chart: model.Chart{Repository: appRef.Repository, Name: appRef.Name, Version: appRef.Version}},
				Workloads: []model.Workload{{
					Name: "web", Selector: map[string]string{"app": "web"},
					Ports:         []model.Port{{Name: "http", Port: 80, TargetPort: 8080, Protocol: "TCP"}},
					LoadBalancers: []model.LoadBalancer{{IP: ip("192.0.2.200"), Ports: []model.LBPort{{Name: "http", Port: 80}}}},
				}},
				Helpers: []model.Workload{
					// The chart's hook Job, labelled by the Job controller.
					{Name: "hook", Selector: map[string]string{"batch.kubernetes.io/job-name": "web-hook"}},
					// Pods the web server starts itself.
					{Name: "worker", Selector: map[string]string{"app": "worker"}, CreatedBy: "web/web"},
				},
			},
			"k3s": {Name: "k3s", Namespace: "kube-system", Component: "k3s-builtin", Layer: model.LayerInfrastructure, Workloads: []model.Workload{
				{Name: "coredns", Selector: map[string]string{"k8s-app": "kube-dns"}, ClusterDNS: true,
					Ports: []model.Port{{Name: "dns", Port: 53, TargetPort: 53, Protocol: "UDP"}}},
				{Name: "apiserver", Selector: map[string]string{}, HostNetwork: true},
			}},
		},
		Flows: []model.Flow{
			{From: "lan", To: "web/web", Port: model.FlowPort{Name: "http"}, Purpose: "browsers"},
			{From: "web/hook", To: "web/web", Port: model.FlowPort{Name: "http"}, Purpose: "the hook warms the cache"},
			{From: "web/worker", To: "web/web", Port: model.FlowPort{Name: "http"}, Purpose: "workers report back"},
		},
	}
}

func editWeb(c *model.Cluster, edit func(app *model.App)) {
	app := c.AppsByName["web"]
	edit(&app)
	c.AppsByName["web"] = app
}

// checked renders a cluster, its charts from a cache holding the test
// chart, and checks them; edit may change the render first.
func checked(t *testing.T, c *model.Cluster, edit func(*polylab.Result)) (*Report, []*Rendered) {
	t.Helper()
	m, err := model.Validate(c)
	if err != nil {
		t.Fatalf("the model is not valid: %v", err)
	}
	r, err := polylab.RenderModel(m)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if edit != nil {
		edit(r)
	}
	cache, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Add(appRef, archiveDir(t, "testdata/charts/app")); err != nil {
		t.Fatal(err)
	}
	rendered, err := RenderTree(context.Background(), FromBuilt(r.Built), Options{Cache: cache, KubeVersion: m.Versions.K3s})
	if err != nil {
		t.Fatalf("RenderTree: %v", err)
	}
	report, err := Check(Input{Model: m, Units: r.Units, Built: r.Built, Rendered: rendered})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return report, rendered
}

// problems are the report's problems as path: message.
func problems(r *Report) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, p.Error())
	}
	return out
}

// wantProblems checks the report has exactly one problem per want, each
// at the path want starts with and holding the text that follows " ~ ".
func wantProblems(t *testing.T, r *Report, want ...string) {
	t.Helper()
	got := problems(r)
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n  %s", len(got), len(want), strings.Join(got, "\n  "))
		return
	}
	for _, w := range want {
		path, text, _ := strings.Cut(w, " ~ ")
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, path+": ") && strings.Contains(g, text) }) {
			t.Errorf("no problem at %s saying %q; got:\n  %s", path, text, strings.Join(got, "\n  "))
		}
	}
}

func values(v map[string]any) func(app *model.App) {
	return func(app *model.App) { app.Helm.Values = v }
}

// withoutObject drops an object from the verified tree: a component that
// leaves it to the chart, such as a LoadBalancer Service.
func withoutObject(kind, name string) func(*polylab.Result) {
	return func(r *polylab.Result) {
		r.Built.Objects = slices.DeleteFunc(r.Built.Objects, func(o verify.Object) bool { return o.Kind == kind && o.Name == name })
	}
}

func TestCheckPasses(t *testing.T) {
	r, rendered := checked(t, tinyCluster(), nil)
	wantProblems(t, r)
	if len(r.Notes) != 0 {
		t.Errorf("notes: %v", r.Notes)
	}
	// (f) the subcharts: db is off by default.
	if got := rendered[0].Subcharts; len(got) != 0 {
		t.Errorf("enabled subcharts %v, want none", got)
	}
	if got := rendered[0].Disabled; len(got) != 1 || got[0].Path != "db" || got[0].Condition != "db.enabled" {
		t.Errorf("disabled subcharts %v, want db (db.enabled)", got)
	}
}

// (a) Every workload selects pods the chart renders and they listen on its ports.
func TestCheckWorkloads(t *testing.T) {
	t.Run("selector", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, func(app *model.App) { app.Workloads[0].Selector = map[string]string{"app": "webserver"} })
		r, _ := checked(t, c, nil)
		wantProblems(t, r,
			"apps.web.workloads.0.selector ~ web/web selects app=webserver, and none of the pods chart app 0.1.0 renders carries those labels; the closest: Deployment web/web-web {app=web}",
			// Its LoadBalancer Service selects nothing, and the pods are nobody's.
			"apps.web.workloads.0.loadBalancers.0.ip ~ selects no pod",
			"apps.web.workloads ~ Deployment web/web-web (chart app 0.1.0) runs pods that no workload or helper of the model selects")
	})
	t.Run("port", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, func(app *model.App) { app.Workloads[0].Ports[0].TargetPort = 9090 })
		r, _ := checked(t, c, nil)
		wantProblems(t, r,
			"apps.web.workloads.0.ports.0.port ~ web/web: port http sends to 9090/TCP, where its pods do not listen: they listen on 8080/TCP (containerPort, httpGet probe), as Deployment web/web-web (chart app 0.1.0) renders them; set targetPort: 8080",
			"apps.web.workloads.0.loadBalancers.0.ports.0 ~ reaches none of the workload's pods: Deployment web/web-web: it does not listen on 9090/TCP")
	})
	t.Run("the chart's port follows the values", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, values(map[string]any{"port": 9090}))
		r, _ := checked(t, c, nil)
		wantProblems(t, r, "apps.web.workloads.0.ports.0.port ~ they listen on 9090/TCP",
			"apps.web.workloads.0.loadBalancers.0.ports.0 ~ Service web/web-lb (Kustomization web) port 80, which reaches none of the workload's pods: Deployment web/web-web: it does not listen on 8080/TCP (it listens on 9090/TCP")
	})
	t.Run("created at run time", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, func(app *model.App) { app.Helpers[1].CreatedBy = "" })
		r, _ := checked(t, c, nil)
		wantProblems(t, r, "apps.web.helpers.1.selector ~ web/worker selects app=worker, and none of the pods chart app 0.1.0 renders carries those labels")
	})
	t.Run("a hook the values turn off", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, values(map[string]any{"hook": map[string]any{"enabled": false}}))
		r, _ := checked(t, c, nil)
		wantProblems(t, r, "apps.web.helpers.0.selector ~ web/hook selects batch.kubernetes.io/job-name=web-hook, and none of the pods")
	})
}

// (b) Every LoadBalancer is a Service of type LoadBalancer on its IP.
func TestCheckLoadBalancers(t *testing.T) {
	lb := map[string]any{"type": "LoadBalancer", "annotations": map[string]any{"metallb.io/loadBalancerIPs": "192.0.2.200"}}
	// The component's own Service is dropped: the chart's must do.
	chartOnly := withoutObject("Service", "web-lb")
	t.Run("the chart's Service", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, values(map[string]any{"service": lb}))
		r, _ := checked(t, c, chartOnly)
		wantProblems(t, r)
	})
	t.Run("no Service", func(t *testing.T) {
		r, _ := checked(t, tinyCluster(), chartOnly)
		wantProblems(t, r, "apps.web.workloads.0.loadBalancers.0.ip ~ web/web: no Service carries the LoadBalancer IP 192.0.2.200 (annotation metallb.io/loadBalancerIPs)")
	})
	t.Run("not of type LoadBalancer", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, values(map[string]any{"service": map[string]any{"annotations": lb["annotations"]}}))
		r, _ := checked(t, c, chartOnly)
		wantProblems(t, r, "apps.web.workloads.0.loadBalancers.0.ip ~ Service web/web-web (chart app 0.1.0) carries the LoadBalancer IP 192.0.2.200, and is of type ClusterIP")
	})
	t.Run("another port", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, values(map[string]any{"service": map[string]any{"type": "LoadBalancer", "port": 8000, "annotations": lb["annotations"]}}))
		r, _ := checked(t, c, chartOnly)
		wantProblems(t, r, "apps.web.workloads.0.loadBalancers.0.ports.0.port ~ the LoadBalancer on 192.0.2.200 exposes http on port 80, and Service web/web-web (chart app 0.1.0) has ports 8000")
	})
}

// (c) Every Secret and ConfigMap a pod reads exists, with the keys read.
func TestCheckReferences(t *testing.T) {
	secret := values(map[string]any{"existingSecret": "web-db"})
	t.Run("undeclared", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, secret)
		r, _ := checked(t, c, nil)
		wantProblems(t, r, "apps.web.secrets ~ Deployment web/web-web (chart app 0.1.0) reads Secret web-db (key password in env PASSWORD of container web), which no chart renders, no unit of the tree renders, and no app declares")
	})
	t.Run("declared", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, secret)
		editWeb(c, func(app *model.App) { app.Secrets = []model.SecretRef{{Name: "web-db", Keys: []string{"password"}}} })
		r, _ := checked(t, c, nil)
		wantProblems(t, r)
	})
	t.Run("a key missing", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, secret)
		editWeb(c, func(app *model.App) { app.Secrets = []model.SecretRef{{Name: "web-db", Keys: []string{"user"}}} })
		r, _ := checked(t, c, nil)
		wantProblems(t, r, "apps.web.secrets.0.keys ~ reads key password of Secret web-db (key password in env PASSWORD of container web), which the owner (app web's secrets) provides without that key; add key password")
	})
	t.Run("a subchart's", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, values(map[string]any{"db": map[string]any{"enabled": true}}))
		editWeb(c, func(app *model.App) {
			app.Workloads = append(app.Workloads, model.Workload{Name: "db", Selector: map[string]string{"app": "db"}})
		})
		r, rendered := checked(t, c, nil)
		wantProblems(t, r, "apps.web.secrets ~ StatefulSet web/web-db (subchart db 0.1.0 of chart app 0.1.0, on by db.enabled) reads Secret db-secret (envFrom of container db)")
		// (f) the subchart is listed as enabled.
		if got := rendered[0].Subcharts; len(got) != 1 || got[0].Path != "db" || len(rendered[0].Disabled) != 0 {
			t.Errorf("subcharts %v, disabled %v; want db enabled", got, rendered[0].Disabled)
		}
	})
}

// (d) No chart object is another's.
func TestCheckCollisions(t *testing.T) {
	t.Run("an owner's Secret", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, func(app *model.App) { app.Secrets = []model.SecretRef{{Name: "web-conf", Keys: []string{"token"}}} })
		r, _ := checked(t, c, nil)
		wantProblems(t, r, "apps.web.secrets.0.name ~ Secret web/web-conf is the owner's (declared by app web, applied by Kustomization secrets), and chart app 0.1.0 (HelmRelease web/web, app/templates/secret.yaml) renders it too")
	})
	t.Run("another unit's object", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, func(app *model.App) { app.Workloads[0].LoadBalancers[0].Service = "web-web" })
		r, _ := checked(t, c, nil)
		wantProblems(t, r, "apps.web ~ Service web/web-web is Kustomization web, and chart app 0.1.0 (HelmRelease web/web, app/templates/service.yaml) renders it too")
	})
}

// (e) Every value the project sets is read.
func TestCheckValues(t *testing.T) {
	c := tinyCluster()
	editWeb(c, values(map[string]any{
		"port":     8080,
		"extraEnv": []any{map[string]any{"name": "A", "value": "b"}},
		"config":   map[string]any{"greeting": "{{ .Values.service.port }}"},
		"unused":   map[string]any{"x": 1},
		"servce":   map[string]any{"type": "LoadBalancer"},
		"db":       map[string]any{"secretName": "other", "enabled": false},
		"global":   map[string]any{"region": "eu"},
	}))
	r, _ := checked(t, c, nil)
	wantProblems(t, r,
		"apps.web.helm.values.servce.type ~ helm.values sets value servce.type, which no template of chart app 0.1.0 (HelmRelease web/web) reads: Helm ignores it silently",
		"apps.web.helm.values.unused.x ~ value unused.x",
		// A disabled subchart reads nothing.
		"apps.web.helm.values.db.secretName ~ value db.secretName",
		"apps.web.helm.values.global.region ~ value global.region")
}

// (g) The network policies over the pods as the chart labels them.
func TestCheckPolicies(t *testing.T) {
	t.Run("a chart's policy opens more", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, values(map[string]any{"networkPolicy": map[string]any{"allowAll": true}}))
		r, _ := checked(t, c, nil)
		wantProblems(t, r, "apps.web.workloads.0 ~ k3s/coredns (not rendered) -> Deployment web/web-web 8080/TCP: the network policies allow it (NetworkPolicy web/allow-web, web/web-allow-all), and no flow declares it")
	})
	t.Run("a flow's policy missing", func(t *testing.T) {
		drop := func(r *polylab.Result) {
			r.Built.Objects = slices.DeleteFunc(r.Built.Objects, func(o verify.Object) bool {
				np, ok := o.Typed.(*networkingv1.NetworkPolicy)
				return ok && np.Name == "allow-web-hook"
			})
		}
		r, _ := checked(t, tinyCluster(), drop)
		wantProblems(t, r,
			"flows.1 ~ flow web/hook -> web/web http: the network policies deny it between the pods as the charts label them: Job web/web-hook -> Deployment web/web-web 8080/TCP")
	})
	t.Run("pods the model does not describe", func(t *testing.T) {
		c := tinyCluster()
		editWeb(c, func(app *model.App) { app.Helpers = app.Helpers[1:] })
		c.Flows = slices.DeleteFunc(c.Flows, func(f model.Flow) bool { return f.From == "web/hook" })
		r, _ := checked(t, c, nil)
		wantProblems(t, r, "apps.web.workloads ~ Job web/web-hook (chart app 0.1.0) runs pods that no workload or helper of the model selects (labels batch.kubernetes.io/job-name=web-hook, job-name=web-hook)")
	})
}
