package component

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() { register("k3s-builtin", K3sBuiltin) }

// K3sBuiltin renders the "k3s-builtin" component: nothing. Its app
// describes what K3s runs itself (CoreDNS, the API server in the k3s
// process on the servers' host network), so that flows and the network
// policies can name it; K3s installs it, and the bootstrap installs K3s.
func K3sBuiltin(c *model.Cluster, app model.App) ([]Unit, error) {
	if app.Namespace != metav1.NamespaceSystem {
		return nil, fmt.Errorf("K3s runs its own pods in namespace %s; set namespace: %q", metav1.NamespaceSystem, metav1.NamespaceSystem)
	}
	for _, w := range app.Workloads {
		if len(w.LoadBalancers) > 0 {
			return nil, fmt.Errorf("%s/%s declares a LoadBalancer; the k3s-builtin component renders nothing, so no Service would serve it", app.Name, w.Name)
		}
	}
	if app.Helm != nil || app.Container != nil || app.Function != nil || app.Image != "" {
		return nil, fmt.Errorf("the k3s-builtin component describes what K3s installs itself and installs nothing: drop the app's helm, container, function and image")
	}
	return nil, nil
}
