package component

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() {
	register("k3s-builtin", K3sBuiltin)
	register("flux-builtin", FluxBuiltin)
}

// K3sBuiltin renders the "k3s-builtin" component: nothing. Its app
// describes what K3s runs itself (CoreDNS, the API server in the k3s
// process on the servers' host network, the nodes' kubelet and kernel),
// so that flows and the network policies can name it; K3s installs it,
// and the bootstrap installs K3s.
func K3sBuiltin(c *model.Cluster, app model.App) ([]Unit, error) {
	return builtin(app, "k3s-builtin", "K3s runs its own pods", metav1.NamespaceSystem,
		"describes what K3s installs itself and installs nothing")
}

// FluxBuiltin renders the "flux-builtin" component: nothing. Its app
// describes the Flux controllers that the bootstrap installs with flux
// install (bootstrap/install.sh), so that flows can name them; Flux
// keeps itself up to date from then on.
func FluxBuiltin(c *model.Cluster, app model.App) ([]Unit, error) {
	return builtin(app, "flux-builtin", "the bootstrap installs Flux", fluxNamespace,
		"describes the Flux that the bootstrap installs and installs nothing")
}

// builtin checks the app of a component that renders nothing: it lives
// where its software does, and asks for nothing to be installed.
func builtin(app model.App, component, where, namespace, describes string) ([]Unit, error) {
	if app.Namespace != namespace {
		return nil, fmt.Errorf("%s in namespace %s; set namespace: %q", where, namespace, namespace)
	}
	for _, w := range app.Workloads {
		if len(w.LoadBalancers) > 0 {
			return nil, fmt.Errorf("%s/%s declares a LoadBalancer; the %s component renders nothing, so no Service would serve it", app.Name, w.Name, component)
		}
	}
	if app.Helm != nil || app.Container != nil || app.Function != nil || app.Image != "" {
		return nil, fmt.Errorf("the %s component %s: drop the app's helm, container, function and image", component, describes)
	}
	return nil, nil
}
