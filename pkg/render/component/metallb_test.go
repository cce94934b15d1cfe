package component_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func TestMetalLB(t *testing.T) {
	c := testCluster(t)
	app := testApp(t, c, "metallb")
	units := renderUnits(t, c, app.Name)
	if len(units) != 2 {
		t.Fatalf("got %d units, want the chart's and its configuration's", len(units))
	}
	chartUnit, config := units[0], units[1]
	if chartUnit.Name != app.Name || config.Name != app.Name+"-config" {
		t.Errorf("units = %s, %s; want %s, %s-config", chartUnit.Name, config.Name, app.Name, app.Name)
	}
	for _, u := range units {
		if u.Layer != app.Layer {
			t.Errorf("unit %s is in layer %q, want %q", u.Name, u.Layer, app.Layer)
		}
	}

	// The chart: pinned as the model says, layer 2 only.
	checkChart(t, app, chartUnit.Objects)
	values := helmValues(t, chartUnit.Objects)
	for _, keys := range [][]string{{"frrk8s", "enabled"}, {"speaker", "frr", "enabled"}} {
		if got := dig(values, keys...); got != false {
			t.Errorf("values %s = %v, want false", strings.Join(keys, "."), got)
		}
	}

	// The configuration: the model's pool, on demand only, announced by ARP.
	pool := findObject[*kube.IPAddressPool](t, config.Objects, "")
	want := c.Network.LoadBalancerPool.First.String() + "-" + c.Network.LoadBalancerPool.Last.String()
	if !slices.Equal(pool.Spec.Addresses, []string{want}) {
		t.Errorf("pool addresses = %v, want [%s]", pool.Spec.Addresses, want)
	}
	if pool.Spec.AutoAssign == nil || *pool.Spec.AutoAssign {
		t.Errorf("pool autoAssign = %v, want false: every LoadBalancer IP is planned in the model", pool.Spec.AutoAssign)
	}
	l2 := findObject[*kube.L2Advertisement](t, config.Objects, "")
	if !slices.Equal(l2.Spec.IPAddressPools, []string{pool.Name}) {
		t.Errorf("L2Advertisement pools = %v, want [%s]", l2.Spec.IPAddressPools, pool.Name)
	}
	for _, o := range config.Objects {
		if o.GetNamespace() != app.Namespace {
			t.Errorf("%s is in namespace %q, want MetalLB's %q", kube.Ref(o), o.GetNamespace(), app.Namespace)
		}
		// The engine orders the configuration after the chart because the
		// chart's unit provides the configuration's API group.
		if key := component.APIGroup(kube.GVK(o).Group); !slices.Contains(chartUnit.Provides, key) {
			t.Errorf("%s needs %s, which the chart's unit does not provide (it provides %v)", kube.Ref(o), key, chartUnit.Provides)
		}
	}
	// A problem with the configuration is one of the pool.
	if got := config.Origin.String(); got != "network.loadBalancerPool" {
		t.Errorf("the configuration unit comes from %s, want network.loadBalancerPool", got)
	}
	if len(config.Provides) > 0 {
		t.Errorf("the configuration unit provides %v; only the chart's provides anything", config.Provides)
	}
}

func TestMetalLBFollowsModel(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *model.Cluster, app *model.App)
		check  func(t *testing.T, app model.App, units []component.Unit)
	}{{
		name: "pool",
		change: func(c *model.Cluster, app *model.App) {
			// One address wider: every LoadBalancer IP stays inside.
			c.Network.LoadBalancerPool.Last = c.Network.LoadBalancerPool.Last.Next()
		},
		check: func(t *testing.T, app model.App, units []component.Unit) {
			pool := findObject[*kube.IPAddressPool](t, units[1].Objects, "")
			if !slices.Equal(pool.Spec.Addresses, []string{"192.168.20.235-192.168.20.246"}) {
				t.Errorf("pool addresses = %v, want the changed range", pool.Spec.Addresses)
			}
		},
	}, {
		name: "chart version",
		change: func(c *model.Cluster, app *model.App) {
			h := *app.Helm
			h.Chart.Version = "9.9.9"
			app.Helm = &h
		},
		check: func(t *testing.T, app model.App, units []component.Unit) {
			checkChart(t, app, units[0].Objects)
		},
	}, {
		name:   "namespace",
		change: func(c *model.Cluster, app *model.App) { app.Namespace = "lb-system" },
		check: func(t *testing.T, app model.App, units []component.Unit) {
			checkChart(t, app, units[0].Objects)
			for _, o := range units[1].Objects {
				if o.GetNamespace() != "lb-system" {
					t.Errorf("%s is not in the changed namespace", kube.Ref(o))
				}
			}
		},
	}, {
		name: "owner's values win and merge",
		change: func(c *model.Cluster, app *model.App) {
			h := *app.Helm
			h.Values = map[string]any{"speaker": map[string]any{"logLevel": "debug"}, "frrk8s": map[string]any{"enabled": true}}
			app.Helm = &h
		},
		check: func(t *testing.T, app model.App, units []component.Unit) {
			values := helmValues(t, units[0].Objects)
			got := []any{dig(values, "speaker", "logLevel"), dig(values, "speaker", "frr", "enabled"), dig(values, "frrk8s", "enabled")}
			if want := []any{"debug", false, true}; !reflect.DeepEqual(got, want) {
				t.Errorf("speaker.logLevel, speaker.frr.enabled, frrk8s.enabled = %v, want %v", got, want)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCluster(t)
			app := testApp(t, c, "metallb")
			tt.change(c, &app)
			c.AppsByName[app.Name] = app
			tt.check(t, app, renderUnits(t, c, app.Name))
		})
	}
}

func TestMetalLBRelease(t *testing.T) {
	c := testCluster(t)
	app := testApp(t, c, "metallb")
	units := renderUnits(t, c, app.Name)
	hr := findObject[*helmv2.HelmRelease](t, units[0].Objects, app.Name)
	// The model's workload selectors assume the chart's default names,
	// which follow the release name.
	if hr.Spec.ReleaseName != app.Name {
		t.Errorf("release name = %q, want %q", hr.Spec.ReleaseName, app.Name)
	}
}

func TestMetalLBRefusesLoadBalancers(t *testing.T) {
	c := testCluster(t)
	editApp(c, "metallb", func(app *model.App) {
		app.Workloads[0].LoadBalancers = []model.LoadBalancer{{IP: freeIP(t, c, 0)}}
	})
	renderErr(t, c, "metallb", "apps.metallb.workloads.0.loadBalancers", "does not expose")
}
