package component_test

import (
	"fmt"
	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

var clearMLServers = []string{"apiserver", "fileserver", "webserver"}

func TestClearMLFromModel(t *testing.T) {
	c := testCluster(t)
	app := testApp(t, c, "clearml")
	s := settingsOf[component.ClearMLSettings](t, app)
	mongo, redis := testApp(t, c, s.MongoDBApp), testApp(t, c, s.RedisApp)
	u := renderApp(t, c, app.Name)

	mongoURL := fmt.Sprintf("mongodb://%s:%d", serviceHost(c, mongo), mongo.Workloads[0].Ports[0].Port)
	cases := []valueCase{
		{"fullnameOverride", app.Name},
		{"clearml.existingSecret", app.Secrets[0].Name},
		{"mongodb.enabled", false},
		{"dragonfly.enabled", false},
		{"externalServices", map[string]any{
			"mongodbConnectionStringAuth":    mongoURL + "/auth",
			"mongodbConnectionStringBackend": mongoURL + "/backend",
			"redisHost":                      serviceHost(c, redis),
			"redisPort":                      redis.Workloads[0].Ports[0].Port,
		}},
		{"fileserver.storage.data", map[string]any{"class": app.StorageClass, "size": s.FileserverSize}},
		{"elasticsearch.volumeClaimTemplate", map[string]any{
			"storageClassName": app.StorageClass,
			"resources":        map[string]any{"requests": map[string]any{"storage": s.ElasticsearchSize}},
		}},
	}
	// Each server's Service: the workload's port, on its LoadBalancer IP.
	for _, server := range clearMLServers {
		w := workloadOf(t, app, server)
		lb := w.LoadBalancers[0]
		cases = append(cases, valueCase{server + ".service", map[string]any{
			"type":        "LoadBalancer",
			"port":        w.Ports[0].Port,
			"annotations": map[string]any{component.LoadBalancerIPsAnnotation: lb.IP.String()},
		}})
		// The chart's pods carry the labels the model selects.
		want := map[string]string{"app.kubernetes.io/name": app.Name, "app.kubernetes.io/instance": app.Name + "-" + server}
		for k, v := range w.Selector {
			if want[k] != v {
				t.Errorf("workload %s selects %s=%s; the chart labels its pods %v", server, k, v, want)
			}
		}
	}
	api, files := workloadOf(t, app, "apiserver"), workloadOf(t, app, "fileserver")
	cases = append(cases,
		valueCase{"clearml.clientConfigurationApiUrl", fmt.Sprintf("http://%s:%d", api.LoadBalancers[0].IP, api.Ports[0].Port)},
		valueCase{"clearml.clientConfigurationFilesUrl", fmt.Sprintf("http://%s:%d", files.LoadBalancers[0].IP, files.Ports[0].Port)},
	)
	checkValues(t, helmValues(t, u.Objects), cases)

	if n := len(allObjects[*corev1.Service](u.Objects)); n != 0 {
		t.Errorf("rendered %d Services; the chart's own are the LoadBalancers", n)
	}
	if at, ok := needAt(u, component.StorageClass(app.StorageClass)); !ok || at != "apps.clearml.storageClass" {
		t.Errorf("unit needs %v, want StorageClass %s (at apps.%s.storageClass)", u.Needs, app.StorageClass, app.Name)
	}
	if hr := findObject[*helmv2.HelmRelease](t, u.Objects, app.Name); hr.Spec.Timeout == nil || hr.Spec.Timeout.Duration <= 10*time.Minute {
		t.Errorf("the HelmRelease waits %v, Helm's usual 10m; the chart installs slowly", hr.Spec.Timeout)
	}
	// The Secret holds what the chart reads.
	for _, key := range []string{"apiserver_key", "apiserver_secret", "fileserver_key", "fileserver_secret", "secure_auth_token_secret", "test_user_key", "test_user_secret"} {
		if !slices.Contains(app.Secrets[0].Keys, key) {
			t.Errorf("Secret %s lacks key %s", app.Secrets[0].Name, key)
		}
	}
}

func TestClearMLFollowsModel(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, c *model.Cluster) []valueCase
	}{{
		name: "a server's LoadBalancer IP",
		edit: func(t *testing.T, c *model.Cluster) []valueCase {
			ip := freeIP(t, c, 0)
			editApp(c, "clearml", func(app *model.App) { testWorkload(t, app, "apiserver").LoadBalancers[0].IP = ip })
			return []valueCase{
				{"apiserver.service.annotations", map[string]any{component.LoadBalancerIPsAnnotation: ip.String()}},
				{"clearml.clientConfigurationApiUrl", "http://" + ip.String() + ":8008"},
			}
		},
	}, {
		name: "a server without a LoadBalancer",
		edit: func(t *testing.T, c *model.Cluster) []valueCase {
			editApp(c, "clearml", func(app *model.App) { testWorkload(t, app, "fileserver").LoadBalancers = nil })
			return []valueCase{
				{"fileserver.service", map[string]any{"type": "ClusterIP", "port": 8081}},
				{"clearml.clientConfigurationFilesUrl", nil},
			}
		},
	}, {
		name: "the web server's port inside and out",
		edit: func(t *testing.T, c *model.Cluster) []valueCase {
			editApp(c, "clearml", func(app *model.App) {
				w := testWorkload(t, app, "webserver")
				w.Ports[0].Port, w.LoadBalancers[0].Ports[0].Port = 8080, 8080
			})
			return []valueCase{{"webserver.service.port", 8080}}
		},
	}, {
		name: "the MongoDB app's port",
		edit: func(t *testing.T, c *model.Cluster) []valueCase {
			editApp(c, "clearml-mongodb", func(app *model.App) { app.Workloads[0].Ports[0].Port = 27018 })
			return []valueCase{{"externalServices.mongodbConnectionStringAuth", "mongodb://clearml-mongodb.clearml.svc.cluster.local:27018/auth"}}
		},
	}, {
		name: "the Secret",
		edit: func(t *testing.T, c *model.Cluster) []valueCase {
			editApp(c, "clearml", func(app *model.App) { app.Secrets[0].Name = "elsewhere" })
			return []valueCase{{"clearml.existingSecret", "elsewhere"}}
		},
	}, {
		name: "the sizes",
		edit: func(t *testing.T, c *model.Cluster) []valueCase {
			editSettings(t, c, "clearml", func(s map[string]any) {
				s["fileserverSize"], s["elasticsearchSize"] = "3Gi", "4Gi"
			})
			return []valueCase{
				{"fileserver.storage.data.size", "3Gi"},
				{"elasticsearch.volumeClaimTemplate.resources.requests.storage", "4Gi"},
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCluster(t)
			want := tc.edit(t, c)
			u := renderApp(t, c, "clearml")
			checkValues(t, helmValues(t, u.Objects), want)
		})
	}
}

func TestClearMLRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, c *model.Cluster)
		// path is the value the problem is about, from the cluster
		// before the edit; empty for any.
		path func(t *testing.T, c *model.Cluster) string
		want []string
	}{{
		name: "a selector the chart's pods do not match",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "clearml", func(app *model.App) {
				testWorkload(t, app, "webserver").Selector = map[string]string{"app.kubernetes.io/name": "clearml-webserver"}
			})
		},
		path: func(t *testing.T, c *model.Cluster) string {
			return workloadPath(t, c, "clearml", "webserver", "selector")
		},
		want: []string{"app.kubernetes.io/name=clearml-webserver", "app.kubernetes.io/instance=clearml-webserver"},
	}, {
		name: "Elasticsearch selected by the wrong label",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "clearml", func(app *model.App) {
				testWorkload(t, app, "elasticsearch").Selector = map[string]string{"app": "clearml-elastic"}
			})
		},
		want: []string{"app=clearml-elastic-master"},
	}, {
		name: "a LoadBalancer port other than the Service's",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "clearml", func(app *model.App) { testWorkload(t, app, "webserver").LoadBalancers[0].Ports[0].Port = 8080 })
		},
		path: func(t *testing.T, c *model.Cluster) string {
			return workloadPath(t, c, "clearml", "webserver", "loadBalancers", 0, "ports", 0, "port")
		},
		want: []string{"set the LoadBalancer port"},
	}, {
		name: "two LoadBalancers on a server",
		edit: func(t *testing.T, c *model.Cluster) {
			ip := freeIP(t, c, 0)
			editApp(c, "clearml", func(app *model.App) {
				w := testWorkload(t, app, "apiserver")
				second := w.LoadBalancers[0]
				second.IP = ip
				w.LoadBalancers = append(w.LoadBalancers, second)
			})
		},
		path: func(t *testing.T, c *model.Cluster) string {
			return workloadPath(t, c, "clearml", "apiserver", "loadBalancers")
		},
		want: []string{"one LoadBalancer Service"},
	}, {
		name: "a missing server",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "clearml", func(app *model.App) {
				app.Workloads = slices.DeleteFunc(app.Workloads, func(w model.Workload) bool { return w.Name == "fileserver" })
			})
			dropFlows(c, "clearml/fileserver")
		},
		path: fixed("apps.clearml.workloads"),
		want: []string{`workload named "fileserver"`},
	}, {
		name: "no Secret with the chart's keys",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "clearml", func(app *model.App) { app.Secrets[0].Keys = []string{"apiserver_key"} })
		},
		path: fixed("apps.clearml.secrets"),
		want: []string{"secure_auth_token_secret"},
	}, {
		name: "no file server keys",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "clearml", func(app *model.App) {
				app.Secrets[0].Keys = slices.DeleteFunc(app.Secrets[0].Keys, func(k string) bool { return strings.HasPrefix(k, "fileserver_") })
			})
		},
		path: fixed("apps.clearml.secrets"),
		want: []string{"fileserver_key, fileserver_secret"},
	}, {
		name: "a Secret named like the chart's own",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, "clearml", func(app *model.App) { app.Secrets[0].Name = "clearml-conf" })
		},
		path: fixed("apps.clearml.secrets.0.name"),
		want: []string{"renders a Secret clearml-conf of its own", "such as clearml-credentials"},
	}, {
		name: "no Redis app",
		edit: func(t *testing.T, c *model.Cluster) {
			editSettings(t, c, "clearml", func(s map[string]any) { delete(s, "redisApp") })
		},
		path: fixed("apps.clearml.settings.redisApp"),
	}, {
		name: "an unknown setting",
		edit: func(t *testing.T, c *model.Cluster) {
			editSettings(t, c, "clearml", func(s map[string]any) { s["redisHost"] = "clearml-redis" })
		},
		path: fixed("apps.clearml.settings.redisHost"),
		want: []string{"has no setting redisHost", "it reads", "redisApp"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCluster(t)
			path := ""
			if tc.path != nil {
				path = tc.path(t, c)
			}
			tc.edit(t, c)
			renderErr(t, c, "clearml", path, tc.want...)
		})
	}
}
