package component_test

import (
	"encoding/json"
	"maps"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// devicePluginValues renders the device plugin app of c and returns its
// node selector and tolerations, checking what must never be set.
func devicePluginValues(t *testing.T, c *model.Cluster) (map[string]string, []corev1.Toleration) {
	t.Helper()
	app := testApp(t, c, "nvidia-device-plugin")
	units := renderUnits(t, c, app.Name)
	if len(units) != 1 || units[0].Name != app.Name {
		t.Fatalf("want one unit %s, got %d units", app.Name, len(units))
	}
	checkChart(t, app, units[0].Objects)
	values := helmValues(t, units[0].Objects)
	for _, key := range []string{"runtimeClassName", "affinity"} {
		if _, ok := values[key]; ok {
			t.Errorf("values set %s = %v; K3s's default runtime and the chart's affinity do", key, values[key])
		}
	}
	raw, err := json.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		NodeSelector map[string]string   `json:"nodeSelector"`
		Tolerations  []corev1.Toleration `json:"tolerations"`
	}
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatalf("values: %v", err)
	}
	return decoded.NodeSelector, decoded.Tolerations
}

// checkGPUTolerations asserts the tolerations cover exactly the taints.
func checkGPUTolerations(t *testing.T, tols []corev1.Toleration, taints []model.Taint) {
	t.Helper()
	if len(tols) != len(taints) {
		t.Errorf("tolerations = %v, want one per GPU node taint %v", tols, taints)
	}
	for _, taint := range taints {
		if !tolerates(tols, taint) {
			t.Errorf("the device plugin does not tolerate the GPU node taint %s", taint)
		}
	}
}

func TestNVIDIADevicePlugin(t *testing.T) {
	c := testCluster(t)
	m := testModel(t, c)
	gpuNodes := m.GPUNodes
	if len(gpuNodes) == 0 {
		t.Fatal("the polylab model has no GPU node")
	}
	selector, tols := devicePluginValues(t, c)
	if len(selector) == 0 {
		t.Error("the device plugin has no node selector")
	}
	for k, v := range selector {
		for _, n := range gpuNodes {
			if n.Labels[k] != v {
				t.Errorf("node selector %s=%s does not match GPU node %s", k, v, n.Name)
			}
		}
	}
	// The chart's default affinity asks for this label; the model puts it
	// on NVIDIA nodes, so the selector carries it too.
	if selector["nvidia.com/gpu.present"] != "true" {
		t.Errorf("node selector = %v, want nvidia.com/gpu.present=true in it", selector)
	}
	for _, n := range m.Built {
		if n.GPUCount() > 0 {
			continue
		}
		matches := true
		for k, v := range selector {
			matches = matches && n.Labels[k] == v
		}
		if matches {
			t.Errorf("node selector %v also selects %s, which has no GPU", selector, n.Name)
		}
	}
	checkGPUTolerations(t, tols, m.GPU.Taints)
}

func TestNVIDIADevicePluginFollowsModel(t *testing.T) {
	gpuNode := func(c *model.Cluster) *model.Node {
		for i := range c.Nodes {
			if c.Nodes[i].GPUCount() > 0 && !c.Nodes[i].Planned {
				return &c.Nodes[i]
			}
		}
		panic("no GPU node")
	}
	tests := []struct {
		name   string
		change func(c *model.Cluster)
		check  func(t *testing.T, c *model.Cluster, selector map[string]string, tols []corev1.Toleration)
	}{{
		name: "taint",
		change: func(c *model.Cluster) {
			gpuNode(c).Taints = []model.Taint{{Key: "example.org/gpu", Value: "a6000", Effect: "NoExecute"}}
		},
		check: func(t *testing.T, c *model.Cluster, selector map[string]string, tols []corev1.Toleration) {
			checkGPUTolerations(t, tols, gpuNode(c).Taints)
		},
	}, {
		name:   "label",
		change: func(c *model.Cluster) { gpuNode(c).Labels["example.org/accelerator"] = "rtx" },
		check: func(t *testing.T, c *model.Cluster, selector map[string]string, tols []corev1.Toleration) {
			if !maps.Equal(selector, gpuNode(c).Labels) {
				t.Errorf("node selector = %v, want the GPU node's labels %v", selector, gpuNode(c).Labels)
			}
		},
	}, {
		name:   "untainted GPU node",
		change: func(c *model.Cluster) { gpuNode(c).Taints = nil },
		check: func(t *testing.T, c *model.Cluster, selector map[string]string, tols []corev1.Toleration) {
			if tols != nil {
				t.Errorf("tolerations = %v; with no taint the chart's defaults stay", tols)
			}
		},
	}, {
		name: "chart version",
		change: func(c *model.Cluster) {
			app := c.AppsByName["nvidia-device-plugin"]
			h := *app.Helm
			h.Chart.Version = "9.9.9"
			app.Helm = &h
			c.AppsByName[app.Name] = app
		},
		check: func(t *testing.T, c *model.Cluster, selector map[string]string, tols []corev1.Toleration) {}, // devicePluginValues checks the chart
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCluster(t)
			tt.change(c)
			selector, tols := devicePluginValues(t, c)
			tt.check(t, c, selector, tols)
		})
	}
}

func TestNVIDIADevicePluginNeedsAGPUNode(t *testing.T) {
	tests := map[string]func(n *model.Node){
		"GPU node planned": func(n *model.Node) { n.Planned = true },
		"no GPU":           func(n *model.Node) { n.GPUs = nil },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			c := testCluster(t)
			for i := range c.Nodes {
				if c.Nodes[i].GPUCount() > 0 {
					change(&c.Nodes[i])
				}
			}
			// The GPU workloads no node could run are refused by the
			// model; without them, the plugin has nothing to run on.
			for name := range c.AppsByName {
				editApp(c, name, func(app *model.App) {
					for i := range app.Workloads {
						app.Workloads[i].Placement.GPUs = 0
					}
				})
			}
			renderErr(t, c, "nvidia-device-plugin", "apps.nvidia-device-plugin", "nothing to run on")
		})
	}
}
