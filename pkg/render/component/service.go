package component

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// LoadBalancerIPsAnnotation asks MetalLB for a specific address.
const LoadBalancerIPsAnnotation = "metallb.io/loadBalancerIPs"

// loadBalancerAnnotations are the annotations of a Service on lb's IP.
func loadBalancerAnnotations(lb model.LoadBalancer) map[string]string {
	return map[string]string{LoadBalancerIPsAnnotation: lb.IP}
}

// clusterIPService is the in-cluster Service of a workload: every port,
// by name, to the port the pods listen on.
func clusterIPService(name, namespace string, w model.Workload) *corev1.Service {
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
// workload's LoadBalancers, pinned to its IP by MetalLB's annotation.
func loadBalancerServices(app model.App, w model.Workload) []kube.Object {
	var out []kube.Object
	for _, lb := range w.LoadBalancers {
		svc := &corev1.Service{
			TypeMeta:   kube.TypeMeta(corev1.SchemeGroupVersion, "Service"),
			ObjectMeta: kube.Meta(loadBalancerName(app, w, lb), app.Namespace),
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceTypeLoadBalancer,
				Selector: maps.Clone(w.Selector),
			},
		}
		svc.Annotations = loadBalancerAnnotations(lb)
		for _, lp := range lb.Ports {
			i := slices.IndexFunc(w.Ports, func(p model.Port) bool { return p.Name == lp.Name })
			p := w.Ports[i] // the model's validation guarantees the name exists
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

// loadBalancerName names a LoadBalancer Service: as the model says, or
// after the app (and workload, when the app has several) with "-lb".
func loadBalancerName(app model.App, w model.Workload, lb model.LoadBalancer) string {
	if lb.Service != "" {
		return lb.Service
	}
	if len(app.Workloads) == 1 {
		return app.Name + "-lb"
	}
	return app.Name + "-" + w.Name + "-lb"
}

// onlyLoadBalancer returns the workload's single LoadBalancer, for charts
// that expose one Service per workload.
func onlyLoadBalancer(app model.App, w model.Workload) (model.LoadBalancer, bool, error) {
	switch len(w.LoadBalancers) {
	case 0:
		return model.LoadBalancer{}, false, nil
	case 1:
		return w.LoadBalancers[0], true, nil
	}
	var ips []string
	for _, lb := range w.LoadBalancers {
		ips = append(ips, lb.IP)
	}
	return model.LoadBalancer{}, false, fmt.Errorf("%s/%s: the %s chart exposes one LoadBalancer Service for this workload, the model asks for %s",
		app.Name, w.Name, app.Component, strings.Join(ips, ", "))
}
