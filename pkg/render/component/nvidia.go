package component

import (
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() {
	register(Definition[struct{}]{Name: "nvidia-device-plugin", Block: "helm", ChartPods: true, Render: NVIDIADevicePlugin})
}

// NVIDIADevicePlugin renders the "nvidia-device-plugin" component: the
// chart's DaemonSet on the GPU nodes only, advertising their GPUs as
// nvidia.com/gpu.
//
// It sets no runtimeClassName: a GPU node's K3s runs containers with the
// nvidia runtime by default (default-runtime: nvidia), and K3s ships the
// nvidia RuntimeClass itself. The chart's default node affinity stays: it
// asks for nvidia.com/gpu.present=true, a label every node with an NVIDIA
// GPU carries in the model.
func NVIDIADevicePlugin(m *model.Model, app *model.App, _ struct{}) ([]Unit, error) {
	if len(m.GPUNodes) == 0 {
		return nil, model.Problemf(app.Path(), "no built node has a GPU, so the NVIDIA device plugin has nothing to run on; add gpus to a node that is not planned, or remove the app")
	}
	if err := noLoadBalancers(app); err != nil {
		return nil, err
	}
	gpu := m.GPU
	values := Values{}
	if len(gpu.Taints) > 0 {
		// Helm replaces the chart's default tolerations with these: the
		// pods tolerate exactly the GPU nodes' taints.
		values["tolerations"] = tolerations(gpu.Taints)
	}
	if len(gpu.NodeSelector) > 0 {
		values["nodeSelector"] = gpu.NodeSelector
	}
	objects, err := chart(app, values)
	if err != nil {
		return nil, err
	}
	u := appUnit(app, objects...)
	return []Unit{u}, nil
}
