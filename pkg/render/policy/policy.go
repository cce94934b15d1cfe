// Package policy turns the model's resolved flows into NetworkPolicies, a
// unit per restricted namespace, and documents them: the flow matrix and
// the notes the cluster README shows. The flows are the network policy:
// what is declared talks, nothing else does.
package policy

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// Annotations of the rendered NetworkPolicies. Rules cannot carry
// comments, so each policy says what it is for and which flows it opens.
const (
	// PurposeAnnotation says in a sentence what a policy does.
	PurposeAnnotation = "polylab.dev/purpose"
	// FlowsAnnotation lists the flows a policy opens, one a line.
	FlowsAnnotation = "polylab.dev/flows"
	// NodeSourcesAnnotation explains the address blocks that stand for
	// traffic from outside the cluster and from the nodes.
	NodeSourcesAnnotation = "polylab.dev/node-sources"
)

// k3sNodeCIDRMaskSize is the prefix length of each node's slice of the
// pod range: kube-controller-manager's default (--node-cidr-mask-size),
// which K3s keeps. Flannel gives each node's tunnel interface the first
// address of its slice (10.42.N.0 of 10.42.0.0/16).
const k3sNodeCIDRMaskSize = 24

// maxNodeSubnets bounds the tunnel addresses a rule lists: a pod range
// wider than /14 (with /24 per node) would list thousands.
const maxNodeSubnets = 1024

// NetworkPolicies renders the cluster's flows as NetworkPolicies: a unit
// per restricted namespace (RestrictedNamespaces), network-policies-<ns>,
// which holds:
//
//   - default-deny-<ns>: every pod, no ingress and no egress;
//   - allow-dns-<ns>: every pod may ask the cluster DNS (DNSServer);
//   - allow-<app>[-<workload>] for each workload or helper that a flow
//     starts or ends at: its ingress rules (a flow to it) and egress rules
//     (a flow from it, and the Kubernetes API when it is marked apiServer).
//
// A rule names the port the target pod listens on (the Service's
// targetPort): a NetworkPolicy sees traffic after kube-proxy translated
// the Service's address and port.
//
// Peers. A workload is a namespaceSelector on kubernetes.io/metadata.name
// and a podSelector on its selector. What the pods of no namespace send
// is an ipBlock (see nodeSources): sources outside the cluster (their
// CIDR, SNATed by kube-proxy to an address of the node that took the
// LoadBalancer IP), and hostNetwork workloads (the API server calling a
// webhook), which send from the nodes. The Kubernetes API is the
// servers' IPs on network.apiPort: pods reach it through Service
// kubernetes, which kube-proxy translates to those before kube-router's
// egress rules see the packet. A flow ending at a hostNetwork workload
// has no ingress rule: no pod policy applies to those pods (the host
// firewall guards the nodes), only the source's egress rule.
//
// Flows whose end is in an open namespace render nothing at that end.
//
// A unit per namespace, rather than one for all: each is a kustomize
// build of its own, for kustomize-controller and for the render's
// verification alike. One folder of every policy was the render's
// longest build (the policies that admit the nodes list 256 tunnel
// addresses each), and, as kustomize checks every resource it adds
// against all it holds, its time grew with the square of the policies.
func NetworkPolicies(m *model.Model) ([]component.Unit, error) {
	namespaces := m.RestrictedNamespaces()
	if len(namespaces) == 0 {
		return nil, nil
	}
	p, err := newPolicyPlan(m)
	if err != nil {
		return nil, err
	}
	var problems model.Problems
	problems.Add(nil, p.checkHelpers())
	problems.Add(nil, p.flows())
	problems.Add(nil, p.apiServer())
	if len(problems) > 0 {
		return nil, problems
	}
	objects := map[string][]kube.Object{}
	for _, ns := range namespaces {
		objects[ns] = append(objects[ns], p.defaultDeny(ns), p.allowDNS(ns))
	}
	for _, key := range p.order {
		ap := p.policies[key]
		np := ap.object()
		for _, o := range objects[np.Namespace] {
			if o.GetName() == np.Name {
				return nil, model.Problemf(ap.set.Path("name"), "two NetworkPolicies of namespace %s would be named %s; rename a workload", np.Namespace, np.Name)
			}
		}
		objects[np.Namespace] = append(objects[np.Namespace], np)
	}
	var units []component.Unit
	for _, ns := range namespaces {
		// A problem with the unit (its name) is the namespace's, as its first app declares it.
		origin := m.Namespace(ns).Apps[0].Path("namespace")
		units = append(units, component.Unit{Name: unitName(ns), Layer: model.LayerInfrastructure, Objects: objects[ns],
			Origin: origin, Owner: "the NetworkPolicies of namespace " + ns, Rename: "shorten the namespace's name"})
	}
	return units, nil
}

// unitName names the unit that holds a namespace's NetworkPolicies.
func unitName(namespace string) string { return "network-policies-" + namespace }

// policyPlan gathers what the policies are made of.
type policyPlan struct {
	m *model.Model
	// nodeIPs are the built nodes' addresses; tunnels the tunnel
	// addresses of every node slice of the pod range.
	nodeIPs []netip.Addr
	tunnels []netip.Addr
	// policies are the allow-* policies by pod set, in order of first use.
	policies map[string]*allowPolicy
	order    []string
}

func newPolicyPlan(m *model.Model) (*policyPlan, error) {
	p := &policyPlan{m: m, policies: map[string]*allowPolicy{}}
	if m.Restricted(m.DNS.App.Namespace) {
		return nil, model.Problemf(m.DNS.Path("clusterDNS"), "the cluster DNS %s runs in namespace %s, which has a default deny; every namespace asks it, so keep it in an open namespace (kube-system)", m.DNS.Workload.Name, m.DNS.App.Namespace)
	}
	for _, n := range m.Built {
		p.nodeIPs = append(p.nodeIPs, n.IP)
	}
	tunnels, err := tunnelAddresses(m.Network.Pods)
	if err != nil {
		return nil, err
	}
	p.tunnels = tunnels
	return p, nil
}

// tunnelAddresses lists the first address of every node slice of the pod
// range: the address of a node's flannel tunnel interface (flannel.1 for
// VXLAN, flannel-wg for WireGuard), and so the source of what the node
// itself sends to pods on other nodes, and of what it forwards there
// after SNAT. No pod ever has one: a node's pods start at .2.
func tunnelAddresses(pods netip.Prefix) ([]netip.Addr, error) {
	if !pods.Addr().Is4() {
		return nil, model.Problemf(model.Path{"network", "pods"}, "%s is not an IPv4 CIDR", pods)
	}
	// Validate refuses host bits: pods' address is the range's first.
	bits := k3sNodeCIDRMaskSize - pods.Bits()
	if bits < 0 {
		bits = 0
	}
	if 1<<bits > maxNodeSubnets {
		return nil, model.Problemf(model.Path{"network", "pods"}, "%s holds %d node slices of /%d; the network policies list each slice's tunnel address, so use a pod range of /%d or narrower (K3s's default is a /16)",
			pods, 1<<bits, k3sNodeCIDRMaskSize, k3sNodeCIDRMaskSize-10)
	}
	step := uint32(1) << (32 - max(k3sNodeCIDRMaskSize, pods.Bits()))
	base := pods.Addr().As4()
	first := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	var out []netip.Addr
	for i := uint32(0); i < 1<<bits; i++ {
		v := first + i*step
		out = append(out, netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
	}
	return out, nil
}

// policyName names a pod set's policy after the app, and the workload
// when its name is not the app's.
func policyName(s model.PodSet) string {
	if s.Workload.Name == s.App.Name {
		return "allow-" + s.App.Name
	}
	return "allow-" + s.App.Name + "-" + s.Workload.Name
}

// allowPolicy is the allow-* policy of one pod set while it is built.
type allowPolicy struct {
	set     model.PodSet
	ingress []*rule
	egress  []*rule
	// nodeSources says whether a rule admits the node-source addresses.
	nodeSources bool
}

// rule is one rule: peers and ports, and the flows it opens.
type rule struct {
	key   string
	peers []networkingv1.NetworkPolicyPeer
	ports []networkingv1.NetworkPolicyPort
	flows []string
}

func (p *policyPlan) policy(s model.PodSet) *allowPolicy {
	if ap, ok := p.policies[s.Key()]; ok {
		return ap
	}
	ap := &allowPolicy{set: s}
	p.policies[s.Key()] = ap
	p.order = append(p.order, s.Key())
	return ap
}

// add puts a flow's peers and port into the rules: into the rule with the
// same peers when there is one, so that one rule lists every port the
// same peers may use.
func add(rules []*rule, peers []networkingv1.NetworkPolicyPeer, port networkingv1.NetworkPolicyPort, flow string) []*rule {
	b, _ := json.Marshal(peers)
	key := string(b)
	i := slices.IndexFunc(rules, func(r *rule) bool { return r.key == key })
	if i < 0 {
		rules = append(rules, &rule{key: key, peers: peers})
		i = len(rules) - 1
	}
	r := rules[i]
	if !slices.ContainsFunc(r.ports, func(q networkingv1.NetworkPolicyPort) bool {
		return *q.Protocol == *port.Protocol && q.Port.IntVal == port.Port.IntVal && ptr.Deref(q.EndPort, 0) == ptr.Deref(port.EndPort, 0)
	}) {
		r.ports = append(r.ports, port)
	}
	r.flows = append(r.flows, flow)
	return rules
}

// checkHelpers refuses a restricted namespace whose components create
// pods the model does not describe: with a default deny, they would be
// cut off without a word.
func (p *policyPlan) checkHelpers() error {
	var problems model.Problems
	for _, app := range p.m.Apps {
		if !p.m.Restricted(app.Namespace) {
			continue
		}
		for _, r := range component.RequiredPods(app) {
			sets := app.PodSets()
			i := slices.IndexFunc(sets, func(s model.PodSet) bool { return maps.Equal(s.Workload.Selector, r.Labels) })
			switch {
			case i < 0 && r.APIServer:
				problems.Add(nil, model.Problemf(app.Path("helpers"), "%s talks to the Kubernetes API, and namespace %s has a default deny; declare it as a helper of the app with selector %s and apiServer: true",
					r.What, app.Namespace, model.LabelString(r.Labels)))
			case i < 0:
				problems.Add(nil, model.Problemf(app.Path("helpers"), "namespace %s has a default deny, and the model does not describe %s; declare it as a helper of the app with selector %s, and its flows",
					app.Namespace, r.What, model.LabelString(r.Labels)))
			case r.APIServer && !sets[i].Workload.APIServer:
				problems.Add(nil, model.Problemf(sets[i].Path("apiServer"), "%s (%s) talks to the Kubernetes API, and namespace %s has a default deny; mark it apiServer: true",
					r.What, sets[i].Key(), app.Namespace))
			}
		}
	}
	return problems.Err()
}

// defaultDeny isolates every pod of a namespace in both directions.
func (p *policyPlan) defaultDeny(ns string) *networkingv1.NetworkPolicy {
	np := newPolicy("default-deny-"+ns, ns, metav1.LabelSelector{})
	np.Annotations[PurposeAnnotation] = "Every pod of namespace " + ns + " sends and receives only what another policy of the namespace allows: " +
		"the flows of the model, the cluster DNS and, for workloads marked apiServer, the Kubernetes API."
	np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	return np
}

// allowDNS lets every pod of a namespace ask the cluster DNS.
func (p *policyPlan) allowDNS(ns string) *networkingv1.NetworkPolicy {
	np := newPolicy("allow-dns-"+ns, ns, metav1.LabelSelector{})
	dns := p.m.DNS
	np.Annotations[PurposeAnnotation] = fmt.Sprintf("Every pod of namespace %s may resolve names with the cluster DNS (%s in %s).", ns, dns.Workload.Name, dns.App.Namespace)
	var ports []networkingv1.NetworkPolicyPort
	for _, port := range dns.Workload.Ports {
		ports = append(ports, policyPort(port))
	}
	np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{To: podPeers(dns), Ports: ports}}
	np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	return np
}

// flows renders each flow at its ends that are restricted pods.
func (p *policyPlan) flows() error {
	var problems model.Problems
	for _, l := range p.m.Links {
		line := flowLine(l.Flow.From, l.Flow.To, l.Port, l.Purpose)
		if p.m.Restricted(l.To.App.Namespace) && !l.To.Workload.HostNetwork {
			if err := checkSelector(l.To); err != nil {
				problems.Add(nil, err)
				continue
			}
			peers, nodes := p.sourcePeers(l.From)
			ap := p.policy(l.To)
			ap.ingress = add(ap.ingress, peers, policyPort(l.Port), line)
			ap.nodeSources = ap.nodeSources || nodes
		}
		if from := l.From; from.External == nil && p.m.Restricted(from.App.Namespace) && !from.Workload.HostNetwork {
			if err := checkSelector(from.PodSet); err != nil {
				problems.Add(nil, err)
				continue
			}
			ap := p.policy(from.PodSet)
			ap.egress = add(ap.egress, p.targetPeers(l.To), policyPort(l.Port), line)
		}
	}
	return problems.Err()
}

// apiServer lets the restricted pods marked apiServer reach the
// Kubernetes API on the servers.
func (p *policyPlan) apiServer() error {
	var peers []networkingv1.NetworkPolicyPeer
	for _, n := range p.m.Servers {
		peers = append(peers, ipPeer(netip.PrefixFrom(n.IP, 32)))
	}
	var problems model.Problems
	for _, s := range p.m.APIClients {
		if !p.m.Restricted(s.App.Namespace) || s.Workload.HostNetwork {
			continue
		}
		if p.m.Network.APIPort == 0 || len(peers) == 0 {
			problems.Add(nil, model.Problemf(s.Path("apiServer"), "%s talks to the Kubernetes API, and the model has no built server or no network.apiPort to allow", s.Key()))
			continue
		}
		if err := checkSelector(s); err != nil {
			problems.Add(nil, err)
			continue
		}
		port := model.Port{Name: "kubernetes-api", Port: p.m.Network.APIPort, TargetPort: p.m.Network.APIPort, Protocol: string(corev1.ProtocolTCP)}
		ap := p.policy(s)
		line := fmt.Sprintf("%s -> the Kubernetes API on the servers (%d/TCP): a controller or operator (apiServer)", s.Ref(), port.TargetPort)
		ap.egress = add(ap.egress, peers, policyPort(port), line)
	}
	return problems.Err()
}

// checkSelector refuses a restricted pod set that selects no labels: its
// policy would apply to every pod of the namespace.
func checkSelector(s model.PodSet) error {
	if len(s.Workload.Selector) == 0 {
		return model.Problemf(s.Path("selector"), "%s has an empty selector, and namespace %s has a default deny: its policy would select every pod of the namespace; give it the labels of its pods", s.Key(), s.App.Namespace)
	}
	return nil
}

// sourcePeers are the peers that stand for a flow's source, and whether
// they are the node-source addresses.
func (p *policyPlan) sourcePeers(from model.Endpoint) ([]networkingv1.NetworkPolicyPeer, bool) {
	switch {
	case from.External != nil:
		return p.nodeSources(from.External.CIDR), true
	case from.Workload.HostNetwork:
		return p.nodeSources(netip.Prefix{}), true
	}
	return podPeers(from.PodSet), false
}

// nodeSources are the addresses that traffic from outside the cluster and
// from the nodes' host network has when it reaches a pod: the outside
// CIDR (kept by externalTrafficPolicy: Local), each node's IP (SNAT with
// flannel's host-gw backend, which routes over the LAN) and each node's
// tunnel address (SNAT with the VXLAN and WireGuard backends, whose
// tunnel interface carries the packet). kube-router admits what the
// pod's own node sends without any rule.
func (p *policyPlan) nodeSources(outside netip.Prefix) []networkingv1.NetworkPolicyPeer {
	var peers []networkingv1.NetworkPolicyPeer
	if outside.IsValid() {
		peers = append(peers, ipPeer(outside))
	}
	for _, a := range p.nodeIPs {
		if !outside.IsValid() || !outside.Contains(a) {
			peers = append(peers, ipPeer(netip.PrefixFrom(a, 32)))
		}
	}
	for _, a := range p.tunnels {
		peers = append(peers, ipPeer(netip.PrefixFrom(a, 32)))
	}
	return peers
}

// targetPeers are the peers that stand for a flow's target in the
// source's egress rule: its pods, or the nodes for a hostNetwork target.
func (p *policyPlan) targetPeers(to model.PodSet) []networkingv1.NetworkPolicyPeer {
	if !to.Workload.HostNetwork {
		return podPeers(to)
	}
	var peers []networkingv1.NetworkPolicyPeer
	for _, n := range p.m.Built {
		if to.Workload.Placement.Node != "" && n.Name != to.Workload.Placement.Node {
			continue
		}
		peers = append(peers, ipPeer(netip.PrefixFrom(n.IP, 32)))
	}
	return peers
}

func podPeers(s model.PodSet) []networkingv1.NetworkPolicyPeer {
	return []networkingv1.NetworkPolicyPeer{{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: s.App.Namespace}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: maps.Clone(s.Workload.Selector)},
	}}
}

func ipPeer(cidr netip.Prefix) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr.String()}}
}

// policyPort is the port a pod listens on, which is what a policy sees,
// or the range of ports (endPort).
func policyPort(p model.Port) networkingv1.NetworkPolicyPort {
	proto := corev1.Protocol(p.Protocol)
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	port := intstr.FromInt32(int32(p.TargetPort))
	np := networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port}
	if p.IsRange() {
		np.EndPort = ptr.To(int32(p.EndPort))
	}
	return np
}

func flowLine(from, to string, p model.Port, purpose string) string {
	port := fmt.Sprintf("%s (%s/%s)", p.Name, p.PodPorts(), p.Protocol)
	if p.Port != p.TargetPort {
		port = fmt.Sprintf("%s (Service port %d, pod port %d/%s)", p.Name, p.Port, p.TargetPort, p.Protocol)
	}
	return fmt.Sprintf("%s -> %s %s: %s", from, to, port, purpose)
}

func newPolicy(name, namespace string, selector metav1.LabelSelector) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{
		TypeMeta:   kube.TypeMeta(networkingv1.SchemeGroupVersion, "NetworkPolicy"),
		ObjectMeta: kube.Meta(name, namespace),
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: selector},
	}
	np.Annotations = map[string]string{}
	return np
}

// object renders the policy of one pod set.
func (ap *allowPolicy) object() *networkingv1.NetworkPolicy {
	s := ap.set
	np := newPolicy(policyName(s), s.App.Namespace, metav1.LabelSelector{MatchLabels: maps.Clone(s.Workload.Selector)})
	np.Annotations[PurposeAnnotation] = "What the pods of " + s.Ref() + " may receive and send, besides the cluster DNS: one rule per peer, with every port the model's flows open to it."
	var lines []string
	for _, r := range ap.ingress {
		np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: r.peers, Ports: r.ports})
		for _, f := range r.flows {
			lines = append(lines, "in:  "+f)
		}
	}
	for _, r := range ap.egress {
		np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: r.peers, Ports: r.ports})
		for _, f := range r.flows {
			lines = append(lines, "out: "+f)
		}
	}
	np.Annotations[FlowsAnnotation] = strings.Join(lines, "\n")
	if len(np.Spec.Ingress) > 0 {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
	}
	if len(np.Spec.Egress) > 0 {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	}
	if ap.nodeSources {
		np.Annotations[NodeSourcesAnnotation] = nodeSourcesNote
	}
	return np
}

// nodeSourcesNote explains the ipBlocks of traffic from outside the
// cluster and from the nodes.
const nodeSourcesNote = "Traffic from outside the cluster reaches a pod through a LoadBalancer IP, and kube-proxy SNATs it " +
	"(externalTrafficPolicy: Cluster) to an address of the node that took it; what the nodes send themselves (the API " +
	"server calling a webhook, a node's kernel mounting a volume) comes from the nodes' host network too. A pod on " +
	"another node then sees the node's flannel tunnel address (the first address of each node's /24 of the pod " +
	"range) or, with flannel's host-gw backend, its LAN IP; " +
	"kube-router admits whatever the pod's own node sends. So these rules admit the outside CIDR (which " +
	"externalTrafficPolicy: Local would keep), every node IP and every tunnel address: no pod has any of them."
