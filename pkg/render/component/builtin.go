package component

import (
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() {
	register(Definition[struct{}]{Name: "k3s-builtin", Render: K3sBuiltin})
	register(Definition[struct{}]{Name: "flux-builtin", Render: FluxBuiltin})
}

// K3sBuiltin renders the "k3s-builtin" component: nothing. Its app
// describes what K3s runs itself (CoreDNS, the API server in the k3s
// process on the servers' host network, the nodes' kubelet and kernel),
// so that flows and the network policies can name it; K3s installs it,
// and the bootstrap installs K3s.
func K3sBuiltin(m *model.Model, app *model.App, _ struct{}) ([]Unit, error) {
	return builtin(app, "K3s runs its own pods", model.KubeSystem)
}

// FluxBuiltin renders the "flux-builtin" component: nothing. Its app
// describes the Flux controllers that the bootstrap installs, so that
// flows can name them; Flux keeps itself up to date from then on.
func FluxBuiltin(m *model.Model, app *model.App, _ struct{}) ([]Unit, error) {
	return builtin(app, "the bootstrap installs Flux", model.FluxNamespace)
}

// builtin checks the app of a component that renders nothing: it lives
// where its software does, and exposes nothing.
func builtin(app *model.App, where, namespace string) ([]Unit, error) {
	if app.Namespace != namespace {
		return nil, model.Problemf(app.Path("namespace"), "%s in namespace %s; set namespace: %q", where, namespace, namespace)
	}
	for _, s := range app.PodSets() {
		if len(s.Workload.LoadBalancers) > 0 {
			return nil, model.Problemf(s.Path("loadBalancers"), "%s declares a LoadBalancer; the %s component renders nothing, so no Service would serve it", s.Key(), app.Component)
		}
	}
	return nil, nil
}
