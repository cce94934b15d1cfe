package component

import "github.com/polylab/polylab-gitops/pkg/render/model"

// NetworkPolicies renders the cluster's flows as NetworkPolicies.
func NetworkPolicies(c *model.Cluster) (Unit, error) {
	return Unit{Name: "network-policies", Layer: model.LayerInfrastructure}, nil
}
