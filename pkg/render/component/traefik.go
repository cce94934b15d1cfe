package component

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() { register("traefik", Traefik) }

// K3sTraefikChart is the HelmChart K3s installs Traefik with, in
// kube-system; a HelmChartConfig must have its name and namespace.
const K3sTraefikChart = "traefik"

// Traefik renders the "traefik" component. Traefik is K3s's own: K3s
// installs and upgrades its chart. The component only adds values through
// a HelmChartConfig, pinning Traefik's LoadBalancer Service to the IP the
// model gives it.
func Traefik(c *model.Cluster, app model.App) ([]Unit, error) {
	if app.Namespace != metav1.NamespaceSystem {
		return nil, fmt.Errorf("K3s installs Traefik in namespace %s, and a HelmChartConfig only applies in its chart's namespace; set namespace: %q", metav1.NamespaceSystem, metav1.NamespaceSystem)
	}
	w, err := soleWorkload(app)
	if err != nil {
		return nil, err
	}
	lb, ok, err := onlyLoadBalancer(app, w)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, fmt.Errorf("the traefik component pins Traefik's LoadBalancer Service to an IP of the pool; declare it in %s/%s's loadBalancers", app.Name, w.Name)
	}
	if err := sameServicePorts(app, w, lb); err != nil {
		return nil, err
	}
	values, err := yaml.Marshal(Values{"service": Values{"annotations": loadBalancerAnnotations(lb)}})
	if err != nil {
		return nil, fmt.Errorf("traefik values: %w", err)
	}
	config := &kube.HelmChartConfig{
		TypeMeta:   kube.TypeMeta(kube.K3sHelmGroupVersion, "HelmChartConfig"),
		ObjectMeta: kube.Meta(K3sTraefikChart, app.Namespace),
		Spec:       kube.HelmChartConfigSpec{ValuesContent: string(values)},
	}
	return []Unit{appUnit(app, config)}, nil
}

// sameServicePorts checks a LoadBalancer that a chart's own Service
// serves: that Service exposes the workload's ports as they are, so the
// model cannot ask for other outside ports.
func sameServicePorts(app model.App, w model.Workload, lb model.LoadBalancer) error {
	for _, lp := range lb.Ports {
		i := slices.IndexFunc(w.Ports, func(p model.Port) bool { return p.Name == lp.Name })
		if i < 0 {
			return fmt.Errorf("%s/%s: the LoadBalancer on %s exposes port %q, which the workload does not declare; it has %s", app.Name, w.Name, lb.IP, lp.Name, w.PortNames())
		}
		if p := w.Ports[i]; p.Port != lp.Port {
			return fmt.Errorf("%s/%s: the LoadBalancer on %s exposes port %s as %d, but the %s chart's Service exposes it as %d; set the LoadBalancer port to %d",
				app.Name, w.Name, lb.IP, lp.Name, lp.Port, app.Component, p.Port, p.Port)
		}
	}
	return nil
}
