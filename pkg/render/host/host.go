// Package host renders the per-node inputs of the bootstrap: each node's
// K3s configuration, the manifests the first server deploys before Flux
// exists, and each node's host firewall. Flux never applies them: they live
// under clusters/<cluster>/hosts, which the GitRepository ignores.
package host

import (
	"fmt"
	"maps"
	"slices"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// Dir is the folder of the per-node inputs, relative to the cluster folder.
const Dir = "hosts"

// Files renders every node's inputs, by path relative to the cluster folder.
func Files(m *model.Model) (map[string][]byte, error) {
	files := map[string][]byte{}
	add := func(name string, content []byte) error {
		if _, dup := files[name]; dup {
			return fmt.Errorf("host: %s rendered twice", name)
		}
		files[name] = content
		return nil
	}
	for _, render := range []func(*model.Model, func(string, []byte) error) error{k3sConfigs, firewalls} {
		if err := render(m, add); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// Paths returns the rendered paths in sorted order.
func Paths(files map[string][]byte) []string { return slices.Sorted(maps.Keys(files)) }
