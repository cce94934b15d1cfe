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
	// ImagePullSecrets names one Secret, not a list: Nuclio's controller
	// puts it as the pods' only imagePullSecret (nuclio 1.14.1,
	// pkg/functionconfig/types.go and functionres/lazy.go).
	ImagePullSecrets string `json:"imagePullSecrets,omitempty"`
}

// NuclioTrigger is one of a function's event sources.
type NuclioTrigger struct {
	Kind       string         `json:"kind"`
	NumWorkers int            `json:"numWorkers,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

// NuclioProject groups Nuclio functions. Nuclio's controller looks up the
// project a function names (label nuclio.io/project-name) in the
// function's namespace before it deploys the function.
type NuclioProject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              NuclioProjectSpec `json:"spec"`
}

// NuclioProjectSpec is the part of a project's configuration the renderer sets.
type NuclioProjectSpec struct {
	Description string `json:"description,omitempty"`
}

// HelmChart asks K3s's embedded Helm controller to install a chart
// (k3s-io/helm-controller, helm.cattle.io/v1): K3s applies one from a file
// of its auto-deploy folder as it starts, before anything else runs.
type HelmChart struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              HelmChartSpec `json:"spec"`
}

// HelmChartSpec names the chart, its version and where it installs.
type HelmChartSpec struct {
	// Chart is the chart's name in Repo, or an oci:// reference.
	Chart           string `json:"chart"`
	Version         string `json:"version,omitempty"`
	TargetNamespace string `json:"targetNamespace,omitempty"`
	CreateNamespace bool   `json:"createNamespace,omitempty"`
	// ValuesContent is the chart's values, as YAML text.
	ValuesContent string `json:"valuesContent,omitempty"`
}

// FluxOperatorGroupVersion is the Flux Operator's API.
var FluxOperatorGroupVersion = schema.GroupVersion{Group: "fluxcd.controlplane.io", Version: "v1"}

// FluxInstance asks the Flux Operator to run a version of Flux
// (controlplaneio-fluxcd/flux-operator api/v1 fluxinstance_types.go,
// v0.59.0). The operator installs and upgrades Flux's controllers to it.
type FluxInstance struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              FluxInstanceSpec `json:"spec"`
}

// FluxInstanceSpec is the part of a FluxInstance the renderer sets.
type FluxInstanceSpec struct {
	Distribution FluxDistribution `json:"distribution"`
	Components   []string         `json:"components,omitempty"`
	Cluster      *FluxCluster     `json:"cluster,omitempty"`
}

// FluxDistribution is the Flux release and the registry of its images.
type FluxDistribution struct {
	// Version is a release such as 2.9.4, or a semver range.
	Version string `json:"version"`
	// Registry holds the controllers' images, such as ghcr.io/fluxcd.
	Registry string `json:"registry"`
}

// FluxCluster describes the cluster Flux runs in.
type FluxCluster struct {
	Type   string `json:"type,omitempty"`
	Domain string `json:"domain,omitempty"`
	// NetworkPolicy installs Flux's own NetworkPolicies in its namespace.
	NetworkPolicy bool `json:"networkPolicy"`
}
