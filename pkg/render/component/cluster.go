package component

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// systemNamespaces exist before Flux applies anything: K3s and the
// bootstrap create them, and pruning them would break the cluster.
var systemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease", "flux-system"}

// Namespaces renders the unit that creates every app namespace. Keeping
// them in one unit means removing an app never deletes a namespace that
// another app still uses.
func Namespaces(c *model.Cluster) Unit {
	set := map[string]bool{}
	for _, app := range c.Apps {
		if !slices.Contains(systemNamespaces, app.Namespace) {
			set[app.Namespace] = true
		}
	}
	u := Unit{Name: "namespaces", Layer: model.LayerInfrastructure}
	for _, ns := range slices.Sorted(maps.Keys(set)) {
		u.Objects = append(u.Objects, &corev1.Namespace{
			TypeMeta:   kube.TypeMeta(corev1.SchemeGroupVersion, "Namespace"),
			ObjectMeta: metav1.ObjectMeta{Name: ns},
		})
		u.Provides = append(u.Provides, Namespace(ns))
	}
	return u
}

// Secrets is the unit for the Secrets the owner commits SOPS-encrypted in
// clusters/<cluster>/secrets. The renderer writes none of them: the folder
// has no kustomization.yaml of ours, so Flux applies every file the owner
// puts there and decrypts it with the age key the bootstrap installed.
func Secrets(c *model.Cluster) Unit {
	u := Unit{Name: "secrets", Layer: model.LayerInfrastructure, Provides: []string{SecretsKey}, Decrypt: true}
	for _, ns := range namespacesWithSecrets(c) {
		if !slices.Contains(systemNamespaces, ns) {
			u.Needs = append(u.Needs, Namespace(ns))
		}
	}
	return u
}

func namespacesWithSecrets(c *model.Cluster) []string {
	set := map[string]bool{}
	for _, app := range c.Apps {
		if len(app.Secrets) > 0 {
			set[app.Namespace] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
