package component

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() {
	// K3s's Traefik chart creates the pods; the HelmChartConfig only tunes it.
	register(Definition[struct{}]{Name: "traefik", ChartPods: true, Render: Traefik})
}

// K3sTraefikChart is the HelmChart K3s installs Traefik with, in
// kube-system; a HelmChartConfig must have its name and namespace.
const K3sTraefikChart = "traefik"

// Traefik renders the "traefik" component. Traefik is K3s's own: K3s
// installs and upgrades its chart. The component only adds values through
// a HelmChartConfig, pinning Traefik's LoadBalancer Service to the IP the
// model gives it.
func Traefik(m *model.Model, app *model.App, _ struct{}) ([]Unit, error) {
	if app.Namespace != metav1.NamespaceSystem {
		return nil, model.Problemf(app.Path("namespace"), "K3s installs Traefik in namespace %s, and a HelmChartConfig only applies in its chart's namespace; set namespace: %q", metav1.NamespaceSystem, metav1.NamespaceSystem)
	}
	w, err := soleWorkload(app)
	if err != nil {
		return nil, err
	}
	lb, err := onlyLoadBalancer(w)
	switch {
	case err != nil:
		return nil, err
	case lb == nil:
		return nil, model.Problemf(w.Path("loadBalancers"), "the traefik component pins Traefik's LoadBalancer Service to an IP of the pool; declare it in %s's loadBalancers", w.Key())
	}
	if err := sameServicePorts(w, lb); err != nil {
		return nil, err
	}
	values, err := yaml.Marshal(Values{"service": Values{"annotations": loadBalancerAnnotations(*lb)}})
	if err != nil {
		return nil, fmt.Errorf("traefik values: %w", err)
	}
	config := &kube.HelmChartConfig{
		TypeMeta:   kube.TypeMeta(kube.K3sHelmGroupVersion, "HelmChartConfig"),
		ObjectMeta: kube.Meta(K3sTraefikChart, app.Namespace),
		Spec:       kube.HelmChartConfigSpec{ValuesContent: string(values)},
	}
	u := appUnit(app, config)
	return []Unit{u}, nil
}
