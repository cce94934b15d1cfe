package component

import (
	"strings"

	"k8s.io/utils/ptr"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() {
	register(Definition[struct{}]{Name: "metallb", Block: "helm", ChartPods: true, Render: MetalLB})
}

// MetalLBPool names the IPAddressPool of the model's one LoadBalancer
// range, and the L2Advertisement that announces it: the range lives on
// the LAN.
const MetalLBPool = "lan"

// MetalLB renders the "metallb" component in two units: the chart (CRDs,
// controller, speakers), then its configuration, whose metallb.io objects
// need the chart's CRDs and webhook first; the render engine derives that
// dependency from the API group the first unit provides.
//
// MetalLB runs in layer 2 mode only: the speakers answer ARP for the
// addresses of the model's pool, and no BGP router is involved.
func MetalLB(m *model.Model, app *model.App, _ struct{}) ([]Unit, error) {
	if err := noLoadBalancers(app); err != nil {
		return nil, err
	}
	pool := m.Network.LoadBalancerPool
	objects, err := chart(app, Values{
		// Chart 0.16 defaults to the FRR-K8s BGP backend; layer 2 needs
		// neither it nor the speakers' deprecated FRR sidecar.
		"frrk8s":  Values{"enabled": false},
		"speaker": Values{"frr": Values{"enabled": false}},
	})
	if err != nil {
		return nil, err
	}

	ipPool := &kube.IPAddressPool{
		TypeMeta:   kube.TypeMeta(kube.MetalLBGroupVersion, "IPAddressPool"),
		ObjectMeta: kube.Meta(MetalLBPool, app.Namespace),
		Spec: kube.IPAddressPoolSpec{
			Addresses: []string{pool.String()},
			// Every LoadBalancer IP is planned in the model, and each
			// Service asks for its own by annotation. A Service that asks
			// for none stays pending instead of taking an address the
			// model may give to another later.
			AutoAssign: ptr.To(false),
		},
	}
	l2 := &kube.L2Advertisement{
		TypeMeta:   kube.TypeMeta(kube.MetalLBGroupVersion, "L2Advertisement"),
		ObjectMeta: kube.Meta(MetalLBPool, app.Namespace),
		Spec:       kube.L2AdvertisementSpec{IPAddressPools: []string{ipPool.Name}},
	}
	config := Unit{Name: app.Name + "-config", Layer: app.Layer, Objects: []kube.Object{ipPool, l2}, Origin: model.Path{"network", "loadBalancerPool"}}
	u := appUnit(app, objects...)
	// The controller creates the speakers' memberlist key, which they
	// mount (chart 0.16.1 templates/speaker.yaml, not optional), as
	// Secret <fullname>-memberlist (templates/_helpers.tpl,
	// metallb.secretName and metallb.fullname; controller/main.go reads
	// the name from METALLB_ML_SECRET_NAME).
	fullname := app.Name
	if !strings.Contains(app.Name, "metallb") {
		fullname += "-metallb"
	}
	u.RuntimeSecrets = []string{fullname + "-memberlist"}
	return []Unit{u, config}, nil
}
