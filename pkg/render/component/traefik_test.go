package component_test

import (
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// traefikIP renders the traefik app and returns the IP its
// HelmChartConfig asks MetalLB for.
func traefikIP(t *testing.T, c *model.Cluster) string {
	t.Helper()
	app := testApp(t, c, "traefik")
	units := renderUnits(t, c, app.Name)
	if len(units) != 1 || units[0].Name != app.Name || len(units[0].Objects) != 1 {
		t.Fatalf("want one unit %s with one object, got %d units", app.Name, len(units))
	}
	cfg := findObject[*kube.HelmChartConfig](t, units[0].Objects, "")
	if cfg.Name != "traefik" || cfg.Namespace != "kube-system" {
		t.Errorf("HelmChartConfig %s/%s does not match K3s's HelmChart kube-system/traefik", cfg.Namespace, cfg.Name)
	}
	var values map[string]any
	if err := yaml.UnmarshalStrict([]byte(cfg.Spec.ValuesContent), &values); err != nil {
		t.Fatalf("valuesContent is not YAML: %v\n%s", err, cfg.Spec.ValuesContent)
	}
	if len(values) != 1 {
		t.Errorf("valuesContent sets %v; the component only pins the Service", values)
	}
	ip, _ := dig(values, "service", "annotations", component.LoadBalancerIPsAnnotation).(string)
	return ip
}

func TestTraefik(t *testing.T) {
	c := testCluster(t)
	want := testApp(t, c, "traefik").Workloads[0].LoadBalancers[0].IP.String()
	if got := traefikIP(t, c); got != want {
		t.Errorf("Traefik's Service asks for %q, want the model's %q", got, want)
	}
}

func TestTraefikFollowsModel(t *testing.T) {
	c := testCluster(t)
	ip := freeIP(t, c, 0)
	c.AppsByName["traefik"].Workloads[0].LoadBalancers[0].IP = ip
	if got := traefikIP(t, c); got != ip.String() {
		t.Errorf("Traefik's Service asks for %q, want the changed IP %s", got, ip)
	}
}

func TestTraefikRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *model.Cluster, app *model.App)
		path   string
		want   string
	}{{
		name:   "no LoadBalancer",
		change: func(c *model.Cluster, app *model.App) { app.Workloads[0].LoadBalancers = nil },
		path:   "apps.traefik.workloads.0.loadBalancers",
		want:   "declare it",
	}, {
		name: "two LoadBalancers",
		change: func(c *model.Cluster, app *model.App) {
			app.Workloads[0].LoadBalancers = append(app.Workloads[0].LoadBalancers, model.LoadBalancer{IP: freeIP(t, c, 0)})
		},
		path: "apps.traefik.workloads.0.loadBalancers",
		want: "exposes one LoadBalancer Service",
	}, {
		name: "another namespace",
		// Open, so that its LoadBalancer's ports need no flow from the LAN.
		change: func(c *model.Cluster, app *model.App) { app.Namespace, app.OpenNamespace = "ingress", true },
		path:   "apps.traefik.namespace",
		want:   "namespace kube-system",
	}, {
		name:   "an outside port the chart does not serve",
		change: func(c *model.Cluster, app *model.App) { app.Workloads[0].LoadBalancers[0].Ports[0].Port = 8080 },
		path:   "apps.traefik.workloads.0.loadBalancers.0.ports.0.port",
		want:   "chart's Service exposes it as",
	}, {
		name: "two workloads",
		change: func(c *model.Cluster, app *model.App) {
			app.Workloads = append(app.Workloads, model.Workload{Name: "other", Selector: map[string]string{"app": "other"}})
			for i := range c.Flows {
				if c.Flows[i].From == "traefik" {
					c.Flows[i].From = "traefik/traefik"
				}
				if c.Flows[i].To == "traefik" {
					c.Flows[i].To = "traefik/traefik"
				}
			}
		},
		path: "apps.traefik.workloads",
		want: "runs one workload",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCluster(t)
			editApp(c, "traefik", func(app *model.App) { tt.change(c, app) })
			renderErr(t, c, "traefik", tt.path, tt.want)
		})
	}
}
