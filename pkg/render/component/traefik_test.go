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
	units := renderUnits(t, component.Traefik, c, app.Name)
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
	want := testApp(t, c, "traefik").Workloads[0].LoadBalancers[0].IP
	if got := traefikIP(t, c); got != want {
		t.Errorf("Traefik's Service asks for %q, want the model's %q", got, want)
	}
}

func TestTraefikFollowsModel(t *testing.T) {
	c := testCluster(t)
	c.Apps["traefik"].Workloads[0].LoadBalancers[0].IP = "192.0.2.40"
	if got := traefikIP(t, c); got != "192.0.2.40" {
		t.Errorf("Traefik's Service asks for %q, want the changed IP", got)
	}
}

func TestTraefikRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(app *model.App)
		want   string
	}{{
		name:   "no LoadBalancer",
		change: func(app *model.App) { app.Workloads[0].LoadBalancers = nil },
		want:   "declare it",
	}, {
		name: "two LoadBalancers",
		change: func(app *model.App) {
			app.Workloads[0].LoadBalancers = append(app.Workloads[0].LoadBalancers, model.LoadBalancer{IP: "192.0.2.41"})
		},
		want: "exposes one LoadBalancer Service",
	}, {
		name:   "another namespace",
		change: func(app *model.App) { app.Namespace = "ingress" },
		want:   "namespace kube-system",
	}, {
		name:   "an outside port the chart does not serve",
		change: func(app *model.App) { app.Workloads[0].LoadBalancers[0].Ports[0].Port = 8080 },
		want:   "chart's Service exposes it as",
	}, {
		name:   "two workloads",
		change: func(app *model.App) { app.Workloads = append(app.Workloads, app.Workloads[0]) },
		want:   "runs one workload",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCluster(t)
			editApp(c, "traefik", tt.change)
			renderErr(t, component.Traefik, c, "traefik", tt.want)
		})
	}
}
