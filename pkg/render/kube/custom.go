package kube

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Custom resources written as small typed structs. Their JSON names follow
// the upstream CRDs; verify/ decodes every rendered one back strictly.

// MetalLBGroupVersion is MetalLB's configuration API.
var MetalLBGroupVersion = schema.GroupVersion{Group: "metallb.io", Version: "v1beta1"}

// IPAddressPool is a MetalLB pool of addresses for LoadBalancer Services.
type IPAddressPool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              IPAddressPoolSpec `json:"spec"`
}

// IPAddressPoolSpec lists the pool's ranges.
type IPAddressPoolSpec struct {
	Addresses  []string `json:"addresses"`
	AutoAssign *bool    `json:"autoAssign,omitempty"`
}

// L2Advertisement announces pools on the LAN by ARP.
type L2Advertisement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              L2AdvertisementSpec `json:"spec"`
}

// L2AdvertisementSpec names the pools to announce.
type L2AdvertisementSpec struct {
	IPAddressPools []string `json:"ipAddressPools,omitempty"`
}

// K3sHelmGroupVersion is K3s's embedded Helm controller API.
var K3sHelmGroupVersion = schema.GroupVersion{Group: "helm.cattle.io", Version: "v1"}

// HelmChartConfig overrides the values of a chart K3s installs itself.
type HelmChartConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              HelmChartConfigSpec `json:"spec"`
}

// HelmChartConfigSpec carries the values as a YAML document.
type HelmChartConfigSpec struct {
	ValuesContent string `json:"valuesContent"`
}

// NuclioGroupVersion is the only version Nuclio's CRDs serve.
var NuclioGroupVersion = schema.GroupVersion{Group: "nuclio.io", Version: "v1beta1"}

// NuclioFunction is a Nuclio serverless function. Only the fields the
// renderer sets are declared; Nuclio's CRD keeps unknown fields, so a
// strict decode here is what catches a misspelt one.
type NuclioFunction struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              NuclioFunctionSpec `json:"spec"`
}

// NuclioFunctionSpec is the part of Nuclio's function configuration the
// renderer uses.
type NuclioFunctionSpec struct {
	Description  string                      `json:"description,omitempty"`
	Runtime      string                      `json:"runtime"`
	Handler      string                      `json:"handler"`
	Image        string                      `json:"image"`
	MinReplicas  *int                        `json:"minReplicas,omitempty"`
	MaxReplicas  *int                        `json:"maxReplicas,omitempty"`
	EventTimeout string                      `json:"eventTimeout,omitempty"`
	Triggers     map[string]NuclioTrigger    `json:"triggers,omitempty"`
	Resources    corev1.ResourceRequirements `json:"resources,omitempty"`
	NodeSelector map[string]string           `json:"nodeSelector,omitempty"`
	Tolerations  []corev1.Toleration         `json:"tolerations,omitempty"`
	Env          []corev1.EnvVar             `json:"env,omitempty"`
}

// NuclioTrigger is one of a function's event sources.
type NuclioTrigger struct {
	Kind       string         `json:"kind"`
	NumWorkers int            `json:"numWorkers,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}
