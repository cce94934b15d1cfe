package component

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// GPUResource is the extended resource NVIDIA's device plugin advertises.
const GPUResource corev1.ResourceName = "nvidia.com/gpu"

// HostnameLabel is the label every node carries with its own name.
const HostnameLabel = "kubernetes.io/hostname"

// place pins a pod as its placement asks: GPU pods onto GPU nodes (their
// shared labels, tolerating their taints, limited to the GPUs they need),
// and pods placed by name onto that node.
func place(m *model.Model, pod *corev1.PodSpec, p model.Placement) {
	if p.GPUs > 0 {
		gpu := m.GPU
		pod.NodeSelector = merged(pod.NodeSelector, gpu.NodeSelector)
		pod.Tolerations = append(pod.Tolerations, tolerations(gpu.Taints)...)
		for i := range pod.Containers {
			limits := pod.Containers[i].Resources.Limits
			if limits == nil {
				limits = corev1.ResourceList{}
			}
			limits[GPUResource] = *resource.NewQuantity(int64(p.GPUs), resource.DecimalSI)
			pod.Containers[i].Resources.Limits = limits
		}
	}
	if p.Node != "" {
		pod.NodeSelector = merged(pod.NodeSelector, map[string]string{HostnameLabel: p.Node})
	}
}

func merged(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, b)
	return out
}

// tolerations tolerate exactly the given taints.
func tolerations(taints []model.Taint) []corev1.Toleration {
	var out []corev1.Toleration
	for _, t := range taints {
		tol := corev1.Toleration{Key: t.Key, Effect: corev1.TaintEffect(t.Effect), Operator: corev1.TolerationOpExists}
		if t.Value != "" {
			tol.Operator, tol.Value = corev1.TolerationOpEqual, t.Value
		}
		out = append(out, tol)
	}
	return out
}
