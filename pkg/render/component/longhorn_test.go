package component_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// longhornValues renders the longhorn app of c and returns its values.
func longhornValues(t *testing.T, c *model.Cluster) map[string]any {
	t.Helper()
	app := testApp(t, c, "longhorn")
	units := renderUnits(t, c, app.Name)
	if len(units) != 1 {
		t.Fatalf("got %d units, want 1", len(units))
	}
	checkChart(t, app, units[0].Objects)
	return helmValues(t, units[0].Objects)
}

// longhornTolerations decodes the tolerations at keys.
func longhornTolerations(t *testing.T, values map[string]any, keys ...string) []corev1.Toleration {
	t.Helper()
	raw, err := json.Marshal(dig(values, keys...))
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Toleration
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: %v", strings.Join(keys, "."), err)
	}
	return out
}

// taintsOfBuiltNodes lists the taints of the nodes that are not planned, once each.
func taintsOfBuiltNodes(c *model.Cluster) []model.Taint {
	var out []model.Taint
	for _, n := range c.Nodes {
		for _, taint := range n.Taints {
			if !n.Planned && !slices.Contains(out, taint) {
				out = append(out, taint)
			}
		}
	}
	return out
}

// checkLonghornTolerations asserts that Longhorn tolerates exactly the
// given taints, in the chart's three places.
func checkLonghornTolerations(t *testing.T, values map[string]any, taints []model.Taint) {
	t.Helper()
	var strs []string
	for _, taint := range taints {
		strs = append(strs, taint.String())
	}
	for _, keys := range [][]string{{"longhornManager", "tolerations"}, {"longhornDriver", "tolerations"}} {
		tols := longhornTolerations(t, values, keys...)
		if len(tols) != len(taints) {
			t.Errorf("%s = %v, want one per taint of %v", strings.Join(keys, "."), tols, strs)
		}
		for _, taint := range taints {
			if !tolerates(tols, taint) {
				t.Errorf("%s does not tolerate %s", strings.Join(keys, "."), taint)
			}
		}
	}
	got, _ := dig(values, "defaultSettings", "taintToleration").(string)
	gotList := strings.Split(got, ";")
	if got == "" {
		gotList = nil
	}
	slices.Sort(gotList)
	slices.Sort(strs)
	if !slices.Equal(gotList, strs) {
		t.Errorf("defaultSettings.taintToleration = %q, want %q", got, strings.Join(strs, ";"))
	}
}

// checkLonghornReplicas asserts both replica counts.
func checkLonghornReplicas(t *testing.T, values map[string]any, want int) {
	t.Helper()
	if got := dig(values, "persistence", "defaultClassReplicaCount"); got != float64(want) {
		t.Errorf("persistence.defaultClassReplicaCount = %v, want %d", got, want)
	}
	n := strconv.Itoa(want)
	if got := dig(values, "defaultSettings", "defaultReplicaCount"); !reflect.DeepEqual(got, map[string]any{"v1": n, "v2": n}) {
		t.Errorf("defaultSettings.defaultReplicaCount = %v, want %s for each data engine", got, n)
	}
}

func TestLonghorn(t *testing.T) {
	c := testCluster(t)
	app := testApp(t, c, "longhorn")
	units := renderUnits(t, c, app.Name)
	if !slices.Contains(units[0].Provides, component.StorageClass(component.LonghornStorageClass)) {
		t.Errorf("unit provides %v, want the StorageClass %s", units[0].Provides, component.LonghornStorageClass)
	}
	if len(units[0].Needs) > 0 {
		t.Errorf("unit needs %v; Longhorn stands on nothing else", units[0].Needs)
	}
	values := longhornValues(t, c)

	storage := len(testModel(t, c).StorageNodes)
	if storage == 0 {
		t.Fatal("the polylab model has no storage node")
	}
	checkLonghornReplicas(t, values, min(3, storage))
	checkLonghornTolerations(t, values, taintsOfBuiltNodes(c))

	var ui model.Workload
	for _, w := range app.Workloads {
		if w.Name == "ui" {
			ui = w
		}
	}
	checks := []struct {
		keys []string
		want any
	}{
		{[]string{"preUpgradeChecker", "jobEnabled"}, false},
		{[]string{"persistence", "defaultClass"}, true},
		{[]string{"defaultSettings", "createDefaultDiskLabeledNodes"}, true},
		{[]string{"service", "ui", "type"}, "LoadBalancer"},
		{[]string{"service", "ui", "annotations"}, map[string]any{component.LoadBalancerIPsAnnotation: ui.LoadBalancers[0].IP.String()}},
	}
	for _, ch := range checks {
		if got := dig(values, ch.keys...); !reflect.DeepEqual(got, ch.want) {
			t.Errorf("%s = %v, want %v", strings.Join(ch.keys, "."), got, ch.want)
		}
	}
}

func TestLonghornTaintsOfPlannedNodesIgnored(t *testing.T) {
	c := testCluster(t)
	var planned []string
	for _, n := range c.Nodes {
		if n.Planned {
			for _, taint := range n.Taints {
				planned = append(planned, taint.String())
			}
		}
	}
	if len(planned) == 0 {
		t.Skip("no planned node has a taint in the model")
	}
	got, _ := dig(longhornValues(t, c), "defaultSettings", "taintToleration").(string)
	for _, p := range planned {
		if slices.Contains(strings.Split(got, ";"), p) {
			t.Errorf("taintToleration %q tolerates %s, a taint of a planned node only", got, p)
		}
	}
}

func TestLonghornFollowsModel(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *model.Cluster)
		check  func(t *testing.T, c *model.Cluster, values map[string]any)
	}{{
		name: "fewer storage nodes",
		change: func(c *model.Cluster) {
			kept := 0
			for i := range c.Nodes {
				if c.Nodes[i].Storage && !c.Nodes[i].Planned {
					kept++
					c.Nodes[i].Storage = kept <= 2
				}
			}
		},
		check: func(t *testing.T, c *model.Cluster, values map[string]any) {
			checkLonghornReplicas(t, values, 2)
		},
	}, {
		name: "a single storage node",
		change: func(c *model.Cluster) {
			seen := false
			for i := range c.Nodes {
				if c.Nodes[i].Storage && !c.Nodes[i].Planned {
					c.Nodes[i].Storage = !seen
					seen = true
				}
			}
		},
		check: func(t *testing.T, c *model.Cluster, values map[string]any) {
			checkLonghornReplicas(t, values, 1)
		},
	}, {
		name: "a tainted server",
		change: func(c *model.Cluster) {
			for i := range c.Nodes {
				if c.Nodes[i].Role == model.Server {
					c.Nodes[i].Taints = append(c.Nodes[i].Taints, model.Taint{Key: "example.org/dedicated", Effect: "NoExecute"})
					return
				}
			}
		},
		check: func(t *testing.T, c *model.Cluster, values map[string]any) {
			checkLonghornTolerations(t, values, taintsOfBuiltNodes(c))
			if got, _ := dig(values, "defaultSettings", "taintToleration").(string); !strings.Contains(got, "example.org/dedicated:NoExecute") {
				t.Errorf("taintToleration = %q, want the new taint in it", got)
			}
		},
	}, {
		name: "the planned node is built",
		change: func(c *model.Cluster) {
			for i := range c.Nodes {
				if c.Nodes[i].Planned {
					c.Nodes[i].Planned, c.Nodes[i].IP = false, freeLANAddr(c)
				}
			}
		},
		check: func(t *testing.T, c *model.Cluster, values map[string]any) {
			checkLonghornTolerations(t, values, taintsOfBuiltNodes(c))
		},
	}, {
		name: "no tainted node",
		change: func(c *model.Cluster) {
			for i := range c.Nodes {
				c.Nodes[i].Taints = nil
			}
		},
		check: func(t *testing.T, c *model.Cluster, values map[string]any) {
			for _, keys := range [][]string{{"longhornManager"}, {"longhornDriver"}, {"defaultSettings", "taintToleration"}} {
				if got := dig(values, keys...); got != nil {
					t.Errorf("%s = %v with no taint to tolerate", strings.Join(keys, "."), got)
				}
			}
		},
	}, {
		name:   "UI IP",
		change: func(c *model.Cluster) { c.AppsByName["longhorn"].Workloads[0].LoadBalancers[0].IP = freeIP(t, c, 0) },
		check: func(t *testing.T, c *model.Cluster, values map[string]any) {
			want := c.AppsByName["longhorn"].Workloads[0].LoadBalancers[0].IP.String()
			if got := dig(values, "service", "ui", "annotations", component.LoadBalancerIPsAnnotation); got != want {
				t.Errorf("UI Service asks for %v, want the changed IP %s", got, want)
			}
		},
	}, {
		name: "UI without LoadBalancer",
		change: func(c *model.Cluster) {
			c.AppsByName["longhorn"].Workloads[0].LoadBalancers = nil
		},
		check: func(t *testing.T, c *model.Cluster, values map[string]any) {
			if got := dig(values, "service"); got != nil {
				t.Errorf("service = %v, want the chart's ClusterIP default", got)
			}
		},
	}, {
		name: "chart version",
		change: func(c *model.Cluster) {
			app := c.AppsByName["longhorn"]
			h := *app.Helm
			h.Chart.Version = "9.9.9"
			app.Helm = &h
			c.AppsByName["longhorn"] = app
		},
		check: func(t *testing.T, c *model.Cluster, values map[string]any) {}, // longhornValues checks the chart
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCluster(t)
			if ui := c.AppsByName["longhorn"].Workloads[0]; ui.Name != "ui" {
				t.Fatalf("the test expects longhorn's first workload to be ui, not %s", ui.Name)
			}
			tt.change(c)
			tt.check(t, c, longhornValues(t, c))
		})
	}
}

func TestLonghornRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *model.Cluster, app *model.App)
		path   string
		want   string
	}{{
		name: "no storage node",
		change: func(c *model.Cluster, app *model.App) {
			for i := range c.Nodes {
				c.Nodes[i].Storage = false
			}
		},
		path: "nodes",
		want: "no built node holds",
	}, {
		name: "storage only on planned nodes",
		change: func(c *model.Cluster, app *model.App) {
			for i := range c.Nodes {
				c.Nodes[i].Storage = c.Nodes[i].Planned
			}
		},
		path: "nodes",
		want: "no built node holds",
	}, {
		name:   "another namespace",
		change: func(c *model.Cluster, app *model.App) { app.Namespace = "storage" },
		path:   "apps.longhorn.namespace",
		want:   "longhorn-system only",
	}, {
		name:   "a StorageClass the chart does not create",
		change: func(c *model.Cluster, app *model.App) { app.Provides.StorageClasses = []string{"fast"} },
		path:   "apps.longhorn.provides.storageClasses",
		want:   "creates the StorageClass",
	}, {
		name:   "needs another StorageClass",
		change: func(c *model.Cluster, app *model.App) { app.StorageClass = "local-path" },
		path:   "apps.longhorn.storageClass",
		want:   "needs none",
	}, {
		name: "a LoadBalancer on the manager",
		change: func(c *model.Cluster, app *model.App) {
			app.Workloads[1].LoadBalancers = []model.LoadBalancer{{IP: freeIP(t, c, 0)}}
		},
		path: "apps.longhorn.workloads.1.loadBalancers",
		want: "exposes only its UI",
	}, {
		name: "no ui workload",
		change: func(c *model.Cluster, app *model.App) {
			app.Workloads = app.Workloads[1:]
			dropFlows(c, "longhorn/ui")
		},
		path: "apps.longhorn.workloads",
		want: `workload named "ui"`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCluster(t)
			editApp(c, "longhorn", func(app *model.App) { tt.change(c, app) })
			renderErr(t, c, "longhorn", tt.path, tt.want)
		})
	}
}

// With a default deny in longhorn-system, the model's policies replace
// the chart's own, and the upgrade checker, which no flow lets out, is off.
func TestLonghornNetworkPolicyValues(t *testing.T) {
	c := testCluster(t)
	values := longhornValues(t, c)
	if got := dig(values, "networkPolicies", "restrictInternalTraffic"); got != false {
		t.Errorf("networkPolicies.restrictInternalTraffic = %v, want false: the model's policies replace the chart's", got)
	}
	if got := dig(values, "defaultSettings", "upgradeChecker"); got != false {
		t.Errorf("defaultSettings.upgradeChecker = %v, want false", got)
	}
	editApp(c, "longhorn", func(app *model.App) { app.OpenNamespace = true })
	values = longhornValues(t, c)
	if got := dig(values, "networkPolicies"); got != nil {
		t.Errorf("an open longhorn-system: networkPolicies = %v, want the chart's defaults", got)
	}
	if got := dig(values, "defaultSettings", "upgradeChecker"); got != nil {
		t.Errorf("an open longhorn-system: defaultSettings.upgradeChecker = %v, want the chart's default", got)
	}
}
