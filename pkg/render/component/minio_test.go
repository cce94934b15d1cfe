package component_test

import (
	"slices"
	"strconv"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// minioLB returns the LoadBalancer of the MinIO workload named service.
func minioLB(t *testing.T, w model.Workload, service string) model.LoadBalancer {
	t.Helper()
	i := slices.IndexFunc(w.LoadBalancers, func(lb model.LoadBalancer) bool { return lb.Service == service })
	if i < 0 {
		t.Fatalf("workload %s has no LoadBalancer for Service %s", w.Name, service)
	}
	return w.LoadBalancers[i]
}

func TestMinIOFromModel(t *testing.T) {
	c := testCluster(t)
	app := testApp(t, c, "minio")
	w := app.Workloads[0]
	api, console := testPort(t, w, "api"), testPort(t, w, "console")
	apiLB, consoleLB := minioLB(t, w, app.Name), minioLB(t, w, app.Name+"-console")
	s := settingsOf[component.MinIOSettings](t, app)
	u := renderApp(t, c, app.Name)

	repo := findObject[*sourcev1.HelmRepository](t, u.Objects, app.Name)
	hr := findObject[*helmv2.HelmRelease](t, u.Objects, app.Name)
	if repo.Spec.URL != app.Helm.Chart.Repository || hr.Spec.Chart.Spec.Version != app.Helm.Chart.Version || hr.Namespace != app.Namespace {
		t.Errorf("chart = %s %s in %s, want %s %s in %s", repo.Spec.URL, hr.Spec.Chart.Spec.Version, hr.Namespace,
			app.Helm.Chart.Repository, app.Helm.Chart.Version, app.Namespace)
	}
	var buckets []any
	for _, b := range s.Buckets {
		buckets = append(buckets, map[string]any{"name": b, "policy": "none", "purge": false, "versioning": false})
	}
	checkValues(t, helmValues(t, u.Objects), []valueCase{
		{"fullnameOverride", app.Name},
		{"mode", "standalone"},
		{"existingSecret", app.Secrets[0].Name},
		{"minioAPIPort", strconv.Itoa(api.TargetPort)},
		{"minioConsolePort", strconv.Itoa(console.TargetPort)},
		{"service.port", api.Port},
		{"service.type", "LoadBalancer"},
		{"service.annotations", map[string]string{component.LoadBalancerIPsAnnotation: apiLB.IP.String()}},
		{"consoleService.port", console.Port},
		{"consoleService.type", "LoadBalancer"},
		{"consoleService.annotations", map[string]string{component.LoadBalancerIPsAnnotation: consoleLB.IP.String()}},
		{"persistence.storageClass", app.StorageClass},
		{"persistence.size", s.Size},
		{"resources.requests.memory", s.Memory},
		{"buckets", buckets},
		{"users", []any{}},
	})
	// Both LoadBalancers are the chart's own Services: nothing else.
	if svcs := allObjects[*corev1.Service](u.Objects); len(svcs) != 0 {
		t.Errorf("rendered %d Services of its own; the chart's serve both LoadBalancers", len(svcs))
	}
	if at, ok := needAt(u, component.StorageClass(app.StorageClass)); !ok || at != "apps.minio.storageClass" {
		t.Errorf("unit needs %v, want StorageClass %s (at apps.minio.storageClass) among them", u.Needs, app.StorageClass)
	}
}

func TestMinIOFollowsModel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(t *testing.T, c *model.Cluster, app *model.App)
		check func(t *testing.T, c *model.Cluster, u component.Unit, values map[string]any)
	}{{
		name: "a LoadBalancer IP",
		edit: func(t *testing.T, c *model.Cluster, app *model.App) {
			w := testWorkload(t, app, "minio")
			for i := range w.LoadBalancers {
				if w.LoadBalancers[i].Service == app.Name {
					w.LoadBalancers[i].IP = freeIP(t, c, 0)
				}
			}
		},
		check: func(t *testing.T, c *model.Cluster, u component.Unit, values map[string]any) {
			checkValues(t, values, []valueCase{{"service.annotations", map[string]string{component.LoadBalancerIPsAnnotation: freeIP(t, testCluster(t), 0).String()}}})
		},
	}, {
		name: "the console's port inside and out",
		edit: func(t *testing.T, c *model.Cluster, app *model.App) {
			w := testWorkload(t, app, "minio")
			for i := range w.Ports {
				if w.Ports[i].Name == "console" {
					w.Ports[i].Port = 8443
				}
			}
			for i := range w.LoadBalancers {
				for j := range w.LoadBalancers[i].Ports {
					if w.LoadBalancers[i].Ports[j].Name == "console" {
						w.LoadBalancers[i].Ports[j].Port = 8443
					}
				}
			}
		},
		check: func(t *testing.T, c *model.Cluster, u component.Unit, values map[string]any) {
			checkValues(t, values, []valueCase{{"consoleService.port", 8443}})
		},
	}, {
		name: "the pod's API port",
		edit: func(t *testing.T, c *model.Cluster, app *model.App) {
			w := testWorkload(t, app, "minio")
			w.Ports[slices.IndexFunc(w.Ports, func(p model.Port) bool { return p.Name == "api" })].TargetPort = 9100
		},
		check: func(t *testing.T, c *model.Cluster, u component.Unit, values map[string]any) {
			checkValues(t, values, []valueCase{{"minioAPIPort", "9100"}})
		},
	}, {
		name: "no console LoadBalancer",
		edit: func(t *testing.T, c *model.Cluster, app *model.App) {
			w := testWorkload(t, app, "minio")
			w.LoadBalancers = slices.DeleteFunc(w.LoadBalancers, func(lb model.LoadBalancer) bool { return lb.Service == app.Name+"-console" })
		},
		check: func(t *testing.T, c *model.Cluster, u component.Unit, values map[string]any) {
			checkValues(t, values, []valueCase{{"consoleService.type", nil}, {"consoleService.annotations", nil}, {"service.type", "LoadBalancer"}})
		},
	}, {
		name: "a LoadBalancer that is not the chart's Service",
		edit: func(t *testing.T, c *model.Cluster, app *model.App) {
			w := testWorkload(t, app, "minio")
			w.LoadBalancers = append(w.LoadBalancers, model.LoadBalancer{IP: freeIP(t, c, 0), Ports: []model.LBPort{{Name: "api", Port: 9000}}})
		},
		check: func(t *testing.T, c *model.Cluster, u component.Unit, values map[string]any) {
			ip := testApp(t, c, "minio").Workloads[0].LoadBalancers[2].IP.String()
			svc := lbService(t, u.Objects, "minio-lb")
			if svc.Annotations[component.LoadBalancerIPsAnnotation] != ip || svc.Spec.Ports[0].Port != 9000 || svc.Spec.Ports[0].TargetPort.IntValue() != 9000 {
				t.Errorf("extra Service = %v %v, want %s port 9000 -> 9000", svc.Annotations, svc.Spec.Ports, ip)
			}
		},
	}, {
		name: "the buckets, size, memory and StorageClass",
		edit: func(t *testing.T, c *model.Cluster, app *model.App) {
			editAppSettings(t, app, func(s map[string]any) {
				s["buckets"] = []any{"a", "b"}
				s["size"] = "7Gi"
				s["memory"] = "2Gi"
			})
			app.StorageClass = "other"
		},
		check: func(t *testing.T, c *model.Cluster, u component.Unit, values map[string]any) {
			checkValues(t, values, []valueCase{
				{"buckets", []any{
					map[string]any{"name": "a", "policy": "none", "purge": false, "versioning": false},
					map[string]any{"name": "b", "policy": "none", "purge": false, "versioning": false},
				}},
				{"persistence.size", "7Gi"},
				{"persistence.storageClass", "other"},
				{"resources.requests.memory", "2Gi"},
			})
			if _, ok := needAt(u, component.StorageClass("other")); !ok {
				t.Errorf("unit needs %v, want StorageClass other", u.Needs)
			}
		},
	}, {
		// A model built in Go may leave the memory out; CUE defaults it.
		name: "no memory",
		edit: func(t *testing.T, c *model.Cluster, app *model.App) {
			editAppSettings(t, app, func(s map[string]any) { delete(s, "memory") })
		},
		check: func(t *testing.T, c *model.Cluster, u component.Unit, values map[string]any) {
			checkValues(t, values, []valueCase{{"resources.requests.memory", "1Gi"}})
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCluster(t)
			editApp(c, "minio", func(app *model.App) { tc.edit(t, c, app) })
			u := renderApp(t, c, "minio")
			tc.check(t, c, u, helmValues(t, u.Objects))
		})
	}
}

func TestMinIORefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, c *model.Cluster, app *model.App)
		path string
		want []string
	}{{
		name: "a LoadBalancer port other than the Service's",
		edit: func(t *testing.T, c *model.Cluster, app *model.App) {
			w := testWorkload(t, app, "minio")
			w.LoadBalancers[0].Ports[0].Port++
		},
		path: "apps.minio.workloads.0.loadBalancers.0.ports.0.port",
		want: []string{"LoadBalancer", "set the LoadBalancer port"},
	}, {
		name: "no root credentials",
		edit: func(t *testing.T, c *model.Cluster, app *model.App) { app.Secrets = nil },
		path: "apps.minio.secrets",
		want: []string{"rootUser", "rootPassword"},
	}, {
		name: "a selector the chart's pods do not match",
		edit: func(t *testing.T, c *model.Cluster, app *model.App) {
			testWorkload(t, app, "minio").Selector = map[string]string{"app": "minio", "release": "other"}
		},
		path: "apps.minio.workloads.0.selector",
		want: []string{"release=other", "labels these pods app=minio, release=minio"},
	}, {
		name: "no console port",
		edit: func(t *testing.T, c *model.Cluster, app *model.App) {
			w := testWorkload(t, app, "minio")
			w.Ports = slices.DeleteFunc(w.Ports, func(p model.Port) bool { return p.Name == "console" })
			w.LoadBalancers = slices.DeleteFunc(w.LoadBalancers, func(lb model.LoadBalancer) bool { return lb.Ports[0].Name == "console" })
			c.Flows = slices.DeleteFunc(c.Flows, func(f model.Flow) bool { return f.To == "minio" && f.Port.Name == "console" })
		},
		path: "apps.minio.workloads.0.ports",
		want: []string{`port named "console"`},
	}, {
		name: "two workloads",
		edit: func(t *testing.T, c *model.Cluster, app *model.App) {
			app.Workloads = append(app.Workloads, model.Workload{Name: "other", Selector: map[string]string{"app": "other"}})
			// Flows name one of the workloads now.
			for i := range c.Flows {
				if c.Flows[i].To == "minio" {
					c.Flows[i].To = "minio/minio"
				}
			}
		},
		path: "apps.minio.workloads",
		want: []string{"runs one workload", "declares 2"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCluster(t)
			editApp(c, "minio", func(app *model.App) { tc.edit(t, c, app) })
			renderErr(t, c, "minio", tc.path, tc.want...)
		})
	}
}
