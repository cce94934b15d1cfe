package charts

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// builtinClusterScoped are Kubernetes' cluster-scoped kinds (v1.35,
// `kubectl api-resources --namespaced=false`), by group and kind, so that
// any version of them matches. Helm asks the API server's REST mapping
// which objects take the release namespace; offline this table stands in
// for it. Every kind not here, nor declared cluster-scoped by a CRD, is
// namespaced, like most custom resources.
var builtinClusterScoped = map[schema.GroupKind]bool{
	{Group: "", Kind: "ComponentStatus"}:                                              true,
	{Group: "", Kind: "Namespace"}:                                                    true,
	{Group: "", Kind: "Node"}:                                                         true,
	{Group: "", Kind: "PersistentVolume"}:                                             true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingAdmissionPolicy"}:          true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingAdmissionPolicyBinding"}:   true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:     true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"}:        true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"}: true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}:   true,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:                 true,
	{Group: "apiregistration.k8s.io", Kind: "APIService"}:                             true,
	{Group: "authentication.k8s.io", Kind: "SelfSubjectReview"}:                       true,
	{Group: "authentication.k8s.io", Kind: "TokenReview"}:                             true,
	{Group: "authorization.k8s.io", Kind: "SelfSubjectAccessReview"}:                  true,
	{Group: "authorization.k8s.io", Kind: "SelfSubjectRulesReview"}:                   true,
	{Group: "authorization.k8s.io", Kind: "SubjectAccessReview"}:                      true,
	{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}:                 true,
	{Group: "certificates.k8s.io", Kind: "ClusterTrustBundle"}:                        true,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "FlowSchema"}:                       true,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "PriorityLevelConfiguration"}:       true,
	{Group: "internal.apiserver.k8s.io", Kind: "StorageVersion"}:                      true,
	{Group: "networking.k8s.io", Kind: "IngressClass"}:                                true,
	{Group: "networking.k8s.io", Kind: "IPAddress"}:                                   true,
	{Group: "networking.k8s.io", Kind: "ServiceCIDR"}:                                 true,
	{Group: "node.k8s.io", Kind: "RuntimeClass"}:                                      true,
	{Group: "policy", Kind: "PodSecurityPolicy"}:                                      true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                         true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                  true,
	{Group: "resource.k8s.io", Kind: "DeviceClass"}:                                   true,
	{Group: "resource.k8s.io", Kind: "DeviceTaintRule"}:                               true,
	{Group: "resource.k8s.io", Kind: "ResourceSlice"}:                                 true,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                               true,
	{Group: "storage.k8s.io", Kind: "CSIDriver"}:                                      true,
	{Group: "storage.k8s.io", Kind: "CSINode"}:                                        true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                   true,
	{Group: "storage.k8s.io", Kind: "VolumeAttachment"}:                               true,
	{Group: "storage.k8s.io", Kind: "VolumeAttributesClass"}:                          true,
	{Group: "storagemigration.k8s.io", Kind: "StorageVersionMigration"}:               true,
}

// scopes answers whether a kind is namespaced: Kubernetes' own kinds, the
// CRDs the chart carries, and the kinds the caller declares cluster-scoped.
type scopes struct {
	cluster map[schema.GroupKind]bool // true: cluster-scoped, false: namespaced (a CRD said so)
}

func newScopes(clusterScoped []schema.GroupKind) *scopes {
	s := &scopes{cluster: map[schema.GroupKind]bool{}}
	for _, gk := range clusterScoped {
		s.cluster[gk] = true
	}
	return s
}

// addCRDs learns the scope of every CRD in a YAML stream.
func (s *scopes) addCRDs(stream []byte) error {
	crds, err := readCRDs(stream)
	if err != nil {
		return err
	}
	for _, crd := range crds {
		if crd.Spec.Names.Kind != "" {
			s.cluster[crd.groupKind()] = crd.Spec.Scope == "Cluster"
		}
	}
	return nil
}

func (s *scopes) namespaced(gk schema.GroupKind) bool {
	if cluster, ok := s.cluster[gk]; ok {
		return !cluster
	}
	return !builtinClusterScoped[gk]
}

// crd is what the renderer reads of a CustomResourceDefinition.
type crd struct {
	Kind string `json:"kind"`
	Spec struct {
		Group string `json:"group"`
		Scope string `json:"scope"`
		Names struct {
			Kind string `json:"kind"`
		} `json:"names"`
		Versions []struct {
			Name   string `json:"name"`
			Served bool   `json:"served"`
		} `json:"versions"`
	} `json:"spec"`
}

// readCRDs reads the CRDs of a YAML stream (or one JSON object), the
// documents of kind CustomResourceDefinition.
func readCRDs(stream []byte) ([]crd, error) {
	var out []crd
	for doc, err := range yamlDocs(stream) {
		if err != nil {
			return nil, err
		}
		var c crd
		if err := yaml.Unmarshal(doc, &c); err != nil {
			return nil, err
		}
		if c.Kind == "CustomResourceDefinition" {
			out = append(out, c)
		}
	}
	return out, nil
}

// isCRD reports whether an object's kind is apiextensions.k8s.io's
// CustomResourceDefinition.
func isCRD(gvk schema.GroupVersionKind) bool {
	return gvk.Group == "apiextensions.k8s.io" && gvk.Kind == "CustomResourceDefinition"
}

func (c crd) groupKind() schema.GroupKind {
	return schema.GroupKind{Group: c.Spec.Group, Kind: c.Spec.Names.Kind}
}

// apiVersions lists "<group>/<version>" and "<group>/<version>/<Kind>"
// for every served version of the CRD.
func (c crd) apiVersions() []string {
	var out []string
	for _, v := range c.Spec.Versions {
		if v.Served {
			gv := c.Spec.Group + "/" + v.Name
			out = append(out, gv, gv+"/"+c.Spec.Names.Kind)
		}
	}
	return out
}
