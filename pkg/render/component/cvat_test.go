package component_test

import (
	"maps"
	"net/netip"
	"slices"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// cvatUnits renders the cvat app: the chart's unit, and the unit of its
// Nuclio projects when it creates any.
func cvatUnits(t *testing.T, c *model.Cluster) (component.Unit, *component.Unit) {
	t.Helper()
	units := renderUnits(t, c, "cvat")
	switch len(units) {
	case 1:
		return units[0], nil
	case 2:
		return units[0], &units[1]
	}
	t.Fatalf("rendering cvat: %d units, want the chart's and its Nuclio projects'", len(units))
	return component.Unit{}, nil
}

func TestCVATFromModel(t *testing.T) {
	c := testCluster(t)
	app := testApp(t, c, "cvat")
	s := settingsOf[component.CVATSettings](t, app)
	postgres, redis := testApp(t, c, s.PostgresApp), testApp(t, c, s.RedisApp)
	u, projects := cvatUnits(t, c)
	if u.Name != app.Name {
		t.Errorf("the first unit is %s, want the app's own", u.Name)
	}

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
		{"postgresql.secret", map[string]any{"create": false, "name": s.PostgresSecret}},
		{"redis.enabled", false},
		{"redis.external.host", serviceHost(c, redis)},
		{"redis.secret", map[string]any{"create": false, "name": s.RedisSecret}},
		{"cvat.kvrocks.secret", map[string]any{"create": false, "name": s.KvrocksSecret}},
		{"cvat.kvrocks.existingSecret", s.KvrocksSecret},
		{"cvat.kvrocks.defaultStorage", map[string]any{"storageClassName": app.StorageClass, "size": s.CacheSize}},
		{"cvat.backend.defaultStorage", map[string]any{"storageClassName": app.StorageClass, "size": s.StorageSize}},
		{"nuclio.enabled", true},
		{"analytics.enabled", false},
		{"traefik.enabled", false},
		{"ingress", map[string]any{"enabled": true, "hostname": s.Hostname, "className": s.IngressClass}},
		{"smokescreen.opts", "--allow-range=" + c.Network.Services.String() + " --allow-range=" + c.Network.LAN.String()},
	})
	// The Secrets the chart reads are the app's own.
	for key, name := range map[string]string{"postgresSecret": s.PostgresSecret, "redisSecret": s.RedisSecret, "kvrocksSecret": s.KvrocksSecret} {
		if !slices.Contains(secretNames(app), name) {
			t.Errorf("settings.%s = %s, not one of the app's secrets %v", key, name, secretNames(app))
		}
	}

	// The Nuclio dashboard on its LoadBalancer IP, outside port -> the pod's.
	dashboard := workloadOf(t, app, "nuclio-dashboard")
	lb := dashboard.LoadBalancers[0]
	svc := lbService(t, u.Objects, lb.Service)
	if svc.Namespace != app.Namespace || svc.Annotations[component.LoadBalancerIPsAnnotation] != lb.IP.String() || !maps.Equal(svc.Spec.Selector, dashboard.Selector) {
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
	if at, ok := needAt(u, component.StorageClass(app.StorageClass)); !ok || at != "apps.cvat.storageClass" {
		t.Errorf("unit needs %v, want StorageClass %s (at apps.cvat.storageClass)", u.Needs, app.StorageClass)
	}
	if at, ok := needAt(u, component.SecretsKey); !ok || at != "apps.cvat.secrets" {
		t.Errorf("unit needs %v, want the owner's Secrets (at apps.cvat.secrets)", u.Needs)
	}
	if hr := findObject[*helmv2.HelmRelease](t, u.Objects, app.Name); hr.Spec.Timeout == nil || hr.Spec.Timeout.Duration <= 10*time.Minute {
		t.Errorf("the HelmRelease waits %v, Helm's usual 10m; the chart installs slowly", hr.Spec.Timeout)
	}

	// The Nuclio projects the app's functions belong to, in a unit of
	// their own: after the chart's CRDs, before the functions.
	if len(s.NuclioProjects) == 0 {
		t.Fatal("the polylab model creates no Nuclio project")
	}
	if projects == nil {
		t.Fatal("no unit of Nuclio projects")
	}
	if projects.Name != app.Name+"-nuclio-projects" || projects.Layer != app.Layer || projects.Origin.String() != "apps.cvat.settings.nuclioProjects" {
		t.Errorf("projects unit %s in %s from %s, want %s-nuclio-projects in %s from apps.cvat.settings.nuclioProjects",
			projects.Name, projects.Layer, projects.Origin, app.Name, app.Layer)
	}
	if len(projects.Objects) != len(s.NuclioProjects) {
		t.Errorf("projects unit holds %d objects, want one per project %v", len(projects.Objects), s.NuclioProjects)
	}
	for _, name := range s.NuclioProjects {
		p := findObject[*kube.NuclioProject](t, projects.Objects, name)
		if p.Namespace != app.Namespace || kube.GVK(p).Group != "nuclio.io" {
			t.Errorf("NuclioProject %s in %s (%s), want namespace %s and group nuclio.io", name, p.Namespace, kube.GVK(p), app.Namespace)
		}
		if !slices.Contains(projects.Provides, component.NuclioProject(app.Namespace, name)) {
			t.Errorf("projects unit provides %v, want project %s/%s", projects.Provides, app.Namespace, name)
		}
	}
	// Flux orders the projects after the chart, whose CRDs they need.
	if !slices.Contains(u.Provides, component.APIGroup("nuclio.io")) {
		t.Errorf("the chart's unit provides %v, not the API group of the projects", u.Provides)
	}
}

func TestCVATFollowsModel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(t *testing.T, c *model.Cluster)
		check func(t *testing.T, c *model.Cluster, u component.Unit, projects *component.Unit, values map[string]any)
	}{{
		name: "the cluster's networks",
		edit: func(t *testing.T, c *model.Cluster) {
			c.Network.Services = mustPrefix(t, "10.96.0.0/12")
			c.Network.LAN = mustPrefix(t, "192.168.16.0/21") // still holds every address of the model
		},
		check: func(t *testing.T, c *model.Cluster, u component.Unit, projects *component.Unit, values map[string]any) {
			checkValues(t, values, []valueCase{{"smokescreen.opts", "--allow-range=10.96.0.0/12 --allow-range=192.168.16.0/21"}})
		},
	}, {
		name: "the database's port and the cluster's domain",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat-postgresql", func(app *model.App) { app.Workloads[0].Ports[0].Port = 6543 })
			c.Domain = "lab.example"
		},
		check: func(t *testing.T, c *model.Cluster, u component.Unit, projects *component.Unit, values map[string]any) {
			checkValues(t, values, []valueCase{
				{"postgresql.external.port", 6543},
				{"postgresql.external.host", "cvat-postgresql.cvat.svc.lab.example"},
			})
		},
	}, {
		name: "the app serving Redis",
		edit: func(t *testing.T, c *model.Cluster) {
			editSettings(t, c, "cvat", func(s map[string]any) { s["redisApp"] = "clearml-redis" })
		},
		check: func(t *testing.T, c *model.Cluster, u component.Unit, projects *component.Unit, values map[string]any) {
			checkValues(t, values, []valueCase{{"redis.external.host", serviceHost(c, testApp(t, c, "clearml-redis"))}})
		},
	}, {
		name: "the dashboard's LoadBalancer",
		edit: func(t *testing.T, c *model.Cluster) {
			ip := freeIP(t, c, 0)
			editApp(c, "cvat", func(app *model.App) {
				lb := &testWorkload(t, app, "nuclio-dashboard").LoadBalancers[0]
				lb.IP, lb.Ports[0].Port = ip, 8888
			})
		},
		check: func(t *testing.T, c *model.Cluster, u component.Unit, projects *component.Unit, values map[string]any) {
			lb := workloadOf(t, testApp(t, c, "cvat"), "nuclio-dashboard").LoadBalancers[0]
			svc := lbService(t, u.Objects, lb.Service)
			if svc.Annotations[component.LoadBalancerIPsAnnotation] != lb.IP.String() || svc.Spec.Ports[0].Port != 8888 {
				t.Errorf("Service %s = %v %v, want %s port 8888", svc.Name, svc.Annotations, svc.Spec.Ports, lb.IP)
			}
		},
	}, {
		name: "the host name and the Secrets",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat", func(app *model.App) {
				app.Secrets = append(app.Secrets, model.SecretRef{Name: "other-pg", Keys: []string{"database", "username", "password"}})
			})
			editSettings(t, c, "cvat", func(s map[string]any) {
				s["hostname"] = "annotate.example"
				s["postgresSecret"] = "other-pg"
			})
		},
		check: func(t *testing.T, c *model.Cluster, u component.Unit, projects *component.Unit, values map[string]any) {
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
		check: func(t *testing.T, c *model.Cluster, u component.Unit, projects *component.Unit, values map[string]any) {
			checkValues(t, values, []valueCase{
				{"analytics.enabled", true},
				{"cvat.backend.replicas", 2},
				{"cvat.backend.defaultStorage.storageClassName", testApp(t, c, "cvat").StorageClass},
			})
		},
	}, {
		name: "the Nuclio projects",
		edit: func(t *testing.T, c *model.Cluster) {
			editSettings(t, c, "cvat", func(s map[string]any) { s["nuclioProjects"] = []string{"cvat", "research"} })
		},
		check: func(t *testing.T, c *model.Cluster, u component.Unit, projects *component.Unit, values map[string]any) {
			if projects == nil {
				t.Fatal("no unit of Nuclio projects")
			}
			var names []string
			for _, o := range projects.Objects {
				names = append(names, o.GetNamespace()+"/"+o.GetName())
			}
			want := []component.Key{component.NuclioProject("cvat", "cvat"), component.NuclioProject("cvat", "research")}
			if !slices.Equal(names, []string{"cvat/cvat", "cvat/research"}) || !slices.Equal(projects.Provides, want) {
				t.Errorf("projects %v providing %v, want cvat/cvat and cvat/research", names, projects.Provides)
			}
		},
	}, {
		name: "no Nuclio project",
		edit: func(t *testing.T, c *model.Cluster) {
			editSettings(t, c, "cvat", func(s map[string]any) { s["nuclioProjects"] = []string{} })
		},
		check: func(t *testing.T, c *model.Cluster, u component.Unit, projects *component.Unit, values map[string]any) {
			if projects != nil {
				t.Errorf("a unit %s of no project", projects.Name)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCluster(t)
			tc.edit(t, c)
			u, projects := cvatUnits(t, c)
			tc.check(t, c, u, projects, helmValues(t, u.Objects))
		})
	}
}

func TestCVATRefuses(t *testing.T) {
	// secretPath is the path of the keys of the app's Secret that a setting names.
	secretPath := func(t *testing.T, c *model.Cluster, setting string) string {
		app := testApp(t, c, "cvat")
		name := settingsOf[map[string]any](t, app)[setting]
		i := slices.IndexFunc(app.Secrets, func(s model.SecretRef) bool { return s.Name == name })
		if i < 0 {
			t.Fatalf("settings.%s names no Secret of the app", setting)
		}
		return app.Path("secrets", i, "keys").String()
	}
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, c *model.Cluster)
		// path is the value the problem is about, from the cluster
		// before the edit.
		path func(t *testing.T, c *model.Cluster) string
		want []string
	}{{
		name: "no database app",
		edit: func(t *testing.T, c *model.Cluster) {
			editSettings(t, c, "cvat", func(s map[string]any) { delete(s, "postgresApp") })
		},
		path: fixed("apps.cvat.settings.postgresApp"),
	}, {
		name: "an unknown database app",
		edit: func(t *testing.T, c *model.Cluster) {
			editSettings(t, c, "cvat", func(s map[string]any) { s["postgresApp"] = "nowhere" })
		},
		path: fixed("apps.cvat.settings.postgresApp"),
		want: []string{"nowhere"},
	}, {
		name: "a chart app as the database",
		edit: func(t *testing.T, c *model.Cluster) {
			editSettings(t, c, "cvat", func(s map[string]any) { s["postgresApp"] = "minio" })
		},
		path: fixed("apps.cvat.settings.postgresApp"),
		want: []string{"container apps"},
	}, {
		name: "Redis on another port",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "cvat-redis", func(app *model.App) { app.Workloads[0].Ports[0].Port = 6380 })
		},
		path: fixed("apps.cvat.settings.redisApp"),
		want: []string{"6380"},
	}, {
		name: "an undeclared Secret",
		edit: func(t *testing.T, c *model.Cluster) {
			name := settingsOf[component.CVATSettings](t, testApp(t, c, "cvat")).KvrocksSecret
			editApp(c, "cvat", func(app *model.App) {
				app.Secrets = slices.DeleteFunc(app.Secrets, func(s model.SecretRef) bool { return s.Name == name })
			})
		},
		path: fixed("apps.cvat.settings.kvrocksSecret"),
		want: []string{"not among the app's secrets"},
	}, {
		// Reported at the Secret's keys, which lack what the chart reads.
		name: "a Secret without the keys the chart reads",
		edit: func(t *testing.T, c *model.Cluster) {
			name := settingsOf[component.CVATSettings](t, testApp(t, c, "cvat")).PostgresSecret
			editApp(c, "cvat", func(app *model.App) {
				for i := range app.Secrets {
					if app.Secrets[i].Name == name {
						app.Secrets[i].Keys = []string{"password"}
					}
				}
			})
		},
		path: func(t *testing.T, c *model.Cluster) string { return secretPath(t, c, "postgresSecret") },
		want: []string{"database, username"},
	}, {
		// The strict decode refuses a setting the component does not
		// know; CUE refuses it before (TestCVATSchema).
		name: "an unknown setting",
		edit: func(t *testing.T, c *model.Cluster) {
			editSettings(t, c, "cvat", func(s map[string]any) { s["host"] = "x" })
		},
		path: fixed("apps.cvat.settings.host"),
		want: []string{"has no setting host", "hostname"},
	}, {
		// encoding/json alone would take hostName for hostname.
		name: "a setting spelt with another case",
		edit: func(t *testing.T, c *model.Cluster) {
			editSettings(t, c, "cvat", func(s map[string]any) { s["hostName"] = s["hostname"]; delete(s, "hostname") })
		},
		path: fixed("apps.cvat.settings.hostName"),
		want: []string{"has no setting hostName", "did you mean hostname?"},
	}, {
		name: "a required setting left empty",
		edit: func(t *testing.T, c *model.Cluster) {
			editSettings(t, c, "cvat", func(s map[string]any) { s["hostname"] = "" })
		},
		path: fixed("apps.cvat.settings.hostname"),
		want: []string{"needs settings.hostname"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCluster(t)
			path := tc.path(t, c)
			tc.edit(t, c)
			renderErr(t, c, "cvat", path, tc.want...)
		})
	}
}

// TestCVATSchema: what the settings must hold, the schema checks where
// the owner writes it; a cluster built in Go never gets that far.
func TestCVATSchema(t *testing.T) {
	t.Run("no host name", func(t *testing.T) {
		cueErr(t, "apps.cue", `hostname:       "cvat.polylab.lan"`, "", "apps.cvat.settings.hostname", "required")
	})
	t.Run("a misspelt setting", func(t *testing.T) {
		cueErr(t, "zz_extra.cue", "", `cluster: apps: cvat: settings: hostName: "x"`, "apps.cvat.settings.hostName", "field not allowed", "hostname")
	})
}

// mustPrefix parses a CIDR.
func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
