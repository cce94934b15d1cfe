package host

import "github.com/polylab/polylab-gitops/pkg/render/model"

// k3sConfigs renders each built node's K3s config file.
func k3sConfigs(c *model.Cluster, add func(string, []byte) error) error {
	return nil
}
