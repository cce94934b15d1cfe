package component_test

import (
	"maps"
	"slices"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func TestCVATFromModel(t *testing.T) {
	c := testCluster(t)
	app := testApp(t, c, "cvat")
	s := func(key string) string { return app.Settings[key].(string) }
	postgres, redis := testApp(t, c, s("postgresApp")), testApp(t, c, s("redisApp"))
	u := renderApp(t, component.CVAT, c, app.Name)

	// The chart, from its OCI repository at the pinned version.
	repo := findObject[*sourcev1.OCIRepository](t, u.Objects, app.Name)
	hr := findObject[*helmv2.HelmRelease](t, u.Objects, app.Name)
	if want := app.Helm.Chart.Repository + "/" + app.Helm.Chart.Name; repo.Spec.URL != want || repo.Spec.Reference.Tag != app.Helm.Chart.Version {
		t.Errorf("OCIRepository = %s:%s, want %s:%s", repo.Spec.URL, repo.Spec.Reference.Tag, want, app.Helm.Chart.Version)
	}
	if hr.Spec.ChartRef == nil || hr.Spec.ChartRef.Name != repo.Name || hr.Namespace != app.Namespace {
		t.Errorf("HelmRelease %s/%s does not take its chart from OCIRepository %s", hr.Namespace, hr.Name, repo.Name)
	}

	checkValues(t, helmValues(t, u.Objects), []valueCase{
		{"postgresql.enabled", false},
		{"postgresql.external.host", serviceHost(c, postgres)},
		{"postgresql.external.port", postgres.Workloads[0].Ports[0].Port},
		{"postgresql.secret", map[string]any{"create": false, "name": s("postgresSecret")}},
		{"redis.enabled", false},
		{"redis.external.host", serviceHost(c, redis)},
		{"redis.secret", map[string]any{"create": false, "name": s("redisSecret")}},
		{"cvat.kvrocks.secret", map[string]any{"create": false, "name": s("kvrocksSecret")}},
		{"cvat.kvrocks.existingSecret", s("kvrocksSecret")},
		{"cvat.kvrocks.defaultStorage", map[string]any{"storageClassName": app.StorageClass, "size": s("cacheSize")}},
		{"cvat.backend.defaultStorage", map[string]any{"storageClassName": app.StorageClass, "size": s("storageSize")}},
		{"nuclio.enabled", true},
		{"analytics.enabled", false},
		{"traefik.enabled", false},
		{"ingress", map[string]any{"enabled": true, "hostname": s("hostname"), "className": s("ingressClass")}},
		{"smokescreen.opts", "--allow-range=" + c.Network.Services + " --allow-range=" + c.Network.LAN},
	})
	// The Secrets the chart reads are the app's own.
	for _, key := range []string{"postgresSecret", "redisSecret", "kvrocksSecret"} {
		if !slices.Contains(secretNames(app), s(key)) {
			t.Errorf("settings.%s = %s, not one of the app's secrets %v", key, s(key), secretNames(app))
		}
	}

	// The Nuclio dashboard on its LoadBalancer IP, outside port -> the pod's.
	dashboard := workloadOf(t, app, "nuclio-dashboard")
	lb := dashboard.LoadBalancers[0]
	svc := lbService(t, u.Objects, lb.Service)
	if svc.Namespace != app.Namespace || svc.Annotations[component.LoadBalancerIPsAnnotation] != lb.IP || !maps.Equal(svc.Spec.Selector, dashboard.Selector) {
		t.Errorf("Service %s = %s %v selecting %v; want %s %s selecting %v", svc.Name, svc.Namespace, svc.Annotations, svc.Spec.Selector, app.Namespace, lb.IP, dashboard.Selector)
	}
	http := testPort(t, dashboard, lb.Ports[0].Name)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != int32(lb.Ports[0].Port) || svc.Spec.Ports[0].TargetPort.IntValue() != http.TargetPort {
		t.Errorf("Service %s ports = %v, want %d -> %d", svc.Name, svc.Spec.Ports, lb.Ports[0].Port, http.TargetPort)
	}
	if n := len(allObjects[*corev1.Service](u.Objects)); n != 1 {
		t.Errorf("rendered %d Services, want the dashboard's LoadBalancer only", n)
	}

	// The unit provides the CRDs the function units need.
	for _, g := range app.Provides.APIGroups {
		if !slices.Contains(u.Provides, component.APIGroup(g)) {
			t.Errorf("unit provides %v, want API group %s", u.Provides, g)
		}
	}
	if !slices.Contains(u.Needs, component.StorageClass(app.StorageClass)) {
		t.Errorf("unit needs %v, want StorageClass %s", u.Needs, app.StorageClass)
	}
}

func TestCVATFollowsModel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(t *testing.T, c *model.Cluster)
		check func(t *testing.T, u component.Unit, values map[string]any)
	}{{
		name: "the cluster's networks",
		edit: func(t *testing.T, c *model.Cluster) {
			c.Network.Services, c.Network.LAN = "10.96.0.0/12", "172.16.0.0/24"
		},
		check: func(t *testing.T, u component.Unit, values map[string]any) {
			checkValues(t, values, []valueCase{{"smokescreen.opts", "--allow-range=10.96.0.0/12 --allow-range=172.16.0.0/24"}})
		},
	}, {
		name: "the database's port and the cluster's domain",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat-postgresql", func(app *model.App) { app.Workloads[0].Ports[0].Port = 6543 })
			c.Domain = "lab.example"
		},
		check: func(t *testing.T, u component.Unit, values map[string]any) {
			checkValues(t, values, []valueCase{
				{"postgresql.external.port", 6543},
				{"postgresql.external.host", "cvat-postgresql.cvat.svc.lab.example"},
			})
		},
	}, {
		name: "the app serving Redis",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat", func(app *model.App) { app.Settings["redisApp"] = "clearml-redis" })
		},
		check: func(t *testing.T, u component.Unit, values map[string]any) {
			checkValues(t, values, []valueCase{{"redis.external.host", serviceHost(testCluster(t), testApp(t, testCluster(t), "clearml-redis"))}})
		},
	}, {
		name: "the dashboard's LoadBalancer",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat", func(app *model.App) {
				lb := &testWorkload(t, app, "nuclio-dashboard").LoadBalancers[0]
				lb.IP, lb.Ports[0].Port = "10.1.2.3", 8888
			})
		},
		check: func(t *testing.T, u component.Unit, values map[string]any) {
			app := testApp(t, testCluster(t), "cvat")
			svc := lbService(t, u.Objects, workloadOf(t, app, "nuclio-dashboard").LoadBalancers[0].Service)
			if svc.Annotations[component.LoadBalancerIPsAnnotation] != "10.1.2.3" || svc.Spec.Ports[0].Port != 8888 {
				t.Errorf("Service %s = %v %v, want 10.1.2.3 port 8888", svc.Name, svc.Annotations, svc.Spec.Ports)
			}
		},
	}, {
		name: "the host name and the Secrets",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat", func(app *model.App) {
				app.Settings["hostname"] = "annotate.example"
				app.Secrets = append(app.Secrets, model.SecretRef{Name: "other-pg", Keys: []string{"database", "username", "password"}})
				app.Settings["postgresSecret"] = "other-pg"
			})
		},
		check: func(t *testing.T, u component.Unit, values map[string]any) {
			checkValues(t, values, []valueCase{
				{"ingress.hostname", "annotate.example"},
				{"postgresql.secret.name", "other-pg"},
			})
		},
	}, {
		name: "the owner's values win",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat", func(app *model.App) {
				app.Helm.Values = map[string]any{"analytics": map[string]any{"enabled": true}, "cvat": map[string]any{"backend": map[string]any{"replicas": 2}}}
			})
		},
		check: func(t *testing.T, u component.Unit, values map[string]any) {
			app := testApp(t, testCluster(t), "cvat")
			checkValues(t, values, []valueCase{
				{"analytics.enabled", true},
				{"cvat.backend.replicas", 2},
				{"cvat.backend.defaultStorage.storageClassName", app.StorageClass},
			})
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCluster(t)
			tc.edit(t, c)
			u := renderApp(t, component.CVAT, c, "cvat")
			tc.check(t, u, helmValues(t, u.Objects))
		})
	}
}

func TestCVATRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, c *model.Cluster)
		want []string
	}{{
		name: "no database app",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat", func(app *model.App) { delete(app.Settings, "postgresApp") })
		},
		want: []string{"settings.postgresApp"},
	}, {
		name: "an unknown database app",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat", func(app *model.App) { app.Settings["postgresApp"] = "nowhere" })
		},
		want: []string{"settings.postgresApp", "nowhere"},
	}, {
		name: "a chart app as the database",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat", func(app *model.App) { app.Settings["postgresApp"] = "minio" })
		},
		want: []string{"settings.postgresApp", "container apps"},
	}, {
		name: "Redis on another port",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat-redis", func(app *model.App) { app.Workloads[0].Ports[0].Port = 6380 })
		},
		want: []string{"settings.redisApp", "6380"},
	}, {
		name: "an undeclared Secret",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat", func(app *model.App) {
				app.Secrets = slices.DeleteFunc(app.Secrets, func(s model.SecretRef) bool { return s.Name == app.Settings["kvrocksSecret"] })
			})
		},
		want: []string{"settings.kvrocksSecret", "not among the app's secrets"},
	}, {
		name: "a Secret without the keys the chart reads",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat", func(app *model.App) {
				for i := range app.Secrets {
					if app.Secrets[i].Name == app.Settings["postgresSecret"] {
						app.Secrets[i].Keys = []string{"password"}
					}
				}
			})
		},
		want: []string{"settings.postgresSecret", "database, username"},
	}, {
		name: "no host name",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat", func(app *model.App) { delete(app.Settings, "hostname") })
		},
		want: []string{"settings.hostname"},
	}, {
		name: "a misspelt setting",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat", func(app *model.App) { app.Settings["hostName"] = "x" })
		},
		want: []string{"settings.hostName is not a setting", "hostname"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCluster(t)
			tc.edit(t, c)
			renderErr(t, component.CVAT, c, "cvat", tc.want...)
		})
	}
}
