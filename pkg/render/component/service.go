package component

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// LoadBalancerIPsAnnotation asks MetalLB for a specific address.
const LoadBalancerIPsAnnotation = "metallb.io/loadBalancerIPs"

// loadBalancerAnnotations are the annotations of a Service on lb's IP.
func loadBalancerAnnotations(lb model.LoadBalancer) map[string]string {
	return map[string]string{LoadBalancerIPsAnnotation: lb.IP.String()}
}

// clusterIPService is the in-cluster Service of a workload: every port,
// by name, to the port the pods listen on.
func clusterIPService(name, namespace string, w *model.Workload) *corev1.Service {
	svc := &corev1.Service{
		TypeMeta:   kube.TypeMeta(corev1.SchemeGroupVersion, "Service"),
		ObjectMeta: kube.Meta(name, namespace),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: maps.Clone(w.Selector),
		},
	}
	for _, p := range w.Ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
			Name:       p.Name,
			Port:       int32(p.Port),
			TargetPort: intstr.FromInt32(int32(p.TargetPort)),
			Protocol:   corev1.Protocol(p.Protocol),
		})
	}
	return svc
}

// loadBalancerServices renders a LoadBalancer Service for each of the
// given LoadBalancers of a workload, pinned to its IP by MetalLB's
// annotation.
func loadBalancerServices(s model.PodSet, lbs []model.LoadBalancer) []kube.Object {
	var out []kube.Object
	for _, lb := range lbs {
		svc := &corev1.Service{
			TypeMeta:   kube.TypeMeta(corev1.SchemeGroupVersion, "Service"),
			ObjectMeta: kube.Meta(loadBalancerName(s, lb), s.App.Namespace),
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceTypeLoadBalancer,
				Selector: maps.Clone(s.Workload.Selector),
			},
		}
		svc.Annotations = loadBalancerAnnotations(lb)
		for _, lp := range lb.Ports {
			p, _, _ := s.Workload.PortNamed(lp.Name) // the model's validation guarantees the name exists
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
				Name:       p.Name,
				Port:       int32(lp.Port),
				TargetPort: intstr.FromInt32(int32(p.TargetPort)),
				Protocol:   corev1.Protocol(p.Protocol),
			})
		}
		out = append(out, svc)
	}
	return out
}

// workloadLoadBalancers renders the LoadBalancer Services of every
// workload of the app.
func workloadLoadBalancers(app *model.App) []kube.Object {
	var out []kube.Object
	for _, s := range app.WorkloadSets() {
		out = append(out, loadBalancerServices(s, s.Workload.LoadBalancers)...)
	}
	return out
}

// loadBalancerName names a LoadBalancer Service: as the model says, or
// after the app (and workload, when the app has several) with "-lb".
func loadBalancerName(s model.PodSet, lb model.LoadBalancer) string {
	if lb.Service != "" {
		return lb.Service
	}
	if len(s.App.Workloads) == 1 {
		return s.App.Name + "-lb"
	}
	return s.App.Name + "-" + s.Workload.Name + "-lb"
}

// onlyLoadBalancer returns the workload's single LoadBalancer, for charts
// that expose one Service per workload.
func onlyLoadBalancer(s model.PodSet) (*model.LoadBalancer, error) {
	switch len(s.Workload.LoadBalancers) {
	case 0:
		return nil, nil
	case 1:
		return &s.Workload.LoadBalancers[0], nil
	}
	var ips []string
	for _, lb := range s.Workload.LoadBalancers {
		ips = append(ips, lb.IP.String())
	}
	return nil, model.Problemf(s.Path("loadBalancers"), "%s: the %s chart exposes one LoadBalancer Service for this workload, the model asks for %v",
		s.Key(), s.App.Component, ips)
}

// sameServicePorts checks that a LoadBalancer on a chart's own Service
// exposes each port as the Service does: such charts have one Service for
// both uses and cannot map another port outside than inside. Validate
// made sure the workload declares every port a LoadBalancer exposes.
func sameServicePorts(s model.PodSet, lb *model.LoadBalancer) error {
	li := indexOf(s.Workload.LoadBalancers, lb)
	for pi, lp := range lb.Ports {
		p, _, _ := s.Workload.PortNamed(lp.Name)
		if p.Port != lp.Port {
			return model.Problemf(s.Path("loadBalancers", li, "ports", pi, "port"), "%s: the LoadBalancer on %s exposes port %s as %d, but the %s chart's Service exposes it as %d; set the LoadBalancer port to %d",
				s.Key(), lb.IP, lp.Name, lp.Port, s.App.Component, p.Port, p.Port)
		}
	}
	return nil
}

// indexOf finds a LoadBalancer of a workload by identity.
func indexOf(lbs []model.LoadBalancer, lb *model.LoadBalancer) int {
	for i := range lbs {
		if &lbs[i] == lb {
			return i
		}
	}
	return 0
}
