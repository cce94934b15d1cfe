package component

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

// k3sCoreDNS is K3s's CoreDNS as K3s ships it (k3s-io/k3s
// manifests/coredns.yaml), the DNS server of a model that marks none
// clusterDNS.
var k3sCoreDNS = model.Workload{
	Name:     "coredns",
	Selector: map[string]string{"k8s-app": "kube-dns"},
	Ports: []model.Port{
		{Name: "dns", Port: 53, TargetPort: 53, Protocol: string(corev1.ProtocolUDP)},
		{Name: "dns-tcp", Port: 53, TargetPort: 53, Protocol: string(corev1.ProtocolTCP)},
	},
}

// RestrictedNamespaces returns the namespaces that get a default deny, in
// both directions: every namespace that holds an app, but the system
// namespaces and those of apps marked openNamespace. Of the system
// namespaces, kube-system holds K3s's own add-ons (CoreDNS, which every
// namespace asks, Traefik, metrics-server), which K3s installs and
// changes with its releases; flux-system holds Flux, which flux install
// puts there with NetworkPolicies of its own (see FlowNotes).
func RestrictedNamespaces(c *model.Cluster) []string {
	set := map[string]bool{}
	for _, app := range c.Apps {
		if !slices.Contains(systemNamespaces, app.Namespace) {
			if _, seen := set[app.Namespace]; !seen {
				set[app.Namespace] = true
			}
			if app.OpenNamespace {
				set[app.Namespace] = false
			}
		}
	}
	var out []string
	for ns, restricted := range set {
		if restricted {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return out
}

// DNSServer returns the cluster's DNS server: the workload the model
// marks clusterDNS, or K3s's CoreDNS in kube-system.
func DNSServer(c *model.Cluster) (namespace string, w model.Workload) {
	if ep, ok := c.ClusterDNS(); ok {
		return ep.App.Namespace, *ep.Workload
	}
	return metav1.NamespaceSystem, k3sCoreDNS
}

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
func NetworkPolicies(c *model.Cluster) ([]Unit, error) {
	if len(RestrictedNamespaces(c)) == 0 {
		return nil, nil
	}
	p, err := newPolicyPlan(c)
	if err != nil {
		return nil, err
	}
	if err := p.checkHelpers(); err != nil {
		return nil, err
	}
	if err := p.flows(); err != nil {
		return nil, err
	}
	if err := p.apiServer(); err != nil {
		return nil, err
	}
	namespaces := slices.Sorted(maps.Keys(p.restricted))
	objects := map[string][]kube.Object{}
	for _, ns := range namespaces {
		objects[ns] = append(objects[ns], p.defaultDeny(ns), p.allowDNS(ns))
	}
	for _, key := range p.order {
		np := p.policies[key].object()
		for _, o := range objects[np.Namespace] {
			if o.GetName() == np.Name {
				return nil, fmt.Errorf("two NetworkPolicies of namespace %s would be named %s; rename a workload", np.Namespace, np.Name)
			}
		}
		objects[np.Namespace] = append(objects[np.Namespace], np)
	}
	var units []Unit
	for _, ns := range namespaces {
		units = append(units, Unit{Name: policiesUnit(ns), Layer: model.LayerInfrastructure, Objects: objects[ns]})
	}
	return units, nil
}

// policiesUnit names the unit that holds a namespace's NetworkPolicies.
func policiesUnit(namespace string) string { return "network-policies-" + namespace }

// policyPlan gathers what the policies are made of.
type policyPlan struct {
	c          *model.Cluster
	restricted map[string]bool
	dnsNS      string
	dns        model.Workload
	// nodeIPs are the built nodes' addresses; tunnels the tunnel
	// addresses of every node slice of the pod range.
	nodeIPs []netip.Addr
	tunnels []netip.Addr
	// policies are the allow-* policies by pod set, in order of first use.
	policies map[string]*allowPolicy
	order    []string
}

func newPolicyPlan(c *model.Cluster) (*policyPlan, error) {
	p := &policyPlan{c: c, restricted: map[string]bool{}, policies: map[string]*allowPolicy{}}
	for _, ns := range RestrictedNamespaces(c) {
		p.restricted[ns] = true
	}
	p.dnsNS, p.dns = DNSServer(c)
	if p.restricted[p.dnsNS] {
		return nil, fmt.Errorf("the cluster DNS %s runs in namespace %s, which has a default deny; every namespace asks it, so keep it in an open namespace (kube-system)", p.dns.Name, p.dnsNS)
	}
	for _, n := range c.ActiveNodes() {
		if a, err := netip.ParseAddr(n.IP); err == nil {
			p.nodeIPs = append(p.nodeIPs, a)
		}
	}
	tunnels, err := tunnelAddresses(c.Network.Pods)
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
func tunnelAddresses(pods string) ([]netip.Addr, error) {
	prefix, err := netip.ParsePrefix(pods)
	if err != nil || !prefix.Addr().Is4() {
		return nil, fmt.Errorf("network.pods %q is not an IPv4 CIDR", pods)
	}
	prefix = prefix.Masked()
	bits := k3sNodeCIDRMaskSize - prefix.Bits()
	if bits < 0 {
		bits = 0
	}
	if 1<<bits > maxNodeSubnets {
		return nil, fmt.Errorf("network.pods %s holds %d node slices of /%d; the network policies list each slice's tunnel address, so use a pod range of /%d or narrower (K3s's default is a /16)",
			pods, 1<<bits, k3sNodeCIDRMaskSize, k3sNodeCIDRMaskSize-10)
	}
	step := uint32(1) << (32 - max(k3sNodeCIDRMaskSize, prefix.Bits()))
	base := prefix.Addr().As4()
	first := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	var out []netip.Addr
	for i := uint32(0); i < 1<<bits; i++ {
		v := first + i*step
		out = append(out, netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
	}
	return out, nil
}

// podSet is one end of a flow that is a set of pods, or not.
type podSet struct {
	app model.App
	w   model.Workload
}

func (s podSet) ref() string {
	if s.w.Name == s.app.Name {
		return s.app.Name
	}
	return s.app.Name + "/" + s.w.Name
}

func (s podSet) key() string { return s.app.Name + "/" + s.w.Name }

// policyName names a pod set's policy after the app, and the workload
// when its name is not the app's.
func (s podSet) policyName() string {
	if s.w.Name == s.app.Name {
		return "allow-" + s.app.Name
	}
	return "allow-" + s.app.Name + "-" + s.w.Name
}

// allowPolicy is the allow-* policy of one pod set while it is built.
type allowPolicy struct {
	set     podSet
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

func (p *policyPlan) policy(s podSet) *allowPolicy {
	if ap, ok := p.policies[s.key()]; ok {
		return ap
	}
	ap := &allowPolicy{set: s}
	p.policies[s.key()] = ap
	p.order = append(p.order, s.key())
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
	for _, app := range p.c.SortedApps() {
		if !p.restricted[app.Namespace] {
			continue
		}
		for _, r := range requiredPods(app) {
			sets := app.PodSets()
			i := slices.IndexFunc(sets, func(w model.Workload) bool { return maps.Equal(w.Selector, r.labels) })
			switch {
			case i < 0 && r.apiServer:
				return fmt.Errorf("app %s: %s talks to the Kubernetes API, and namespace %s has a default deny; declare it as a helper of the app with selector %s and apiServer: true",
					app.Name, r.what, app.Namespace, labelString(r.labels))
			case i < 0:
				return fmt.Errorf("app %s: namespace %s has a default deny, and the model does not describe %s; declare it as a helper of the app with selector %s, and its flows",
					app.Name, app.Namespace, r.what, labelString(r.labels))
			case r.apiServer && !sets[i].APIServer:
				return fmt.Errorf("app %s: %s (%s/%s) talks to the Kubernetes API, and namespace %s has a default deny; mark it apiServer: true",
					app.Name, r.what, app.Name, sets[i].Name, app.Namespace)
			}
		}
	}
	return nil
}

// requiredPods are the pods an app's component runs that the model must
// describe when the app's namespace has a default deny.
func requiredPods(app model.App) []requiredPod {
	switch app.Component {
	case "nuclio-function":
		return []requiredPod{{"the Job that deploys the function", NuclioDeployerLabels(app), true}}
	case "longhorn":
		return longhornPods()
	}
	return nil
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
	np.Annotations[PurposeAnnotation] = fmt.Sprintf("Every pod of namespace %s may resolve names with the cluster DNS (%s in %s).", ns, p.dns.Name, p.dnsNS)
	var ports []networkingv1.NetworkPolicyPort
	for _, port := range p.dns.Ports {
		ports = append(ports, policyPort(port))
	}
	np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{To: podPeers(p.dnsNS, p.dns), Ports: ports}}
	np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	return np
}

// flows renders each flow at its ends that are restricted pods.
func (p *policyPlan) flows() error {
	for _, f := range p.c.Flows {
		from, err := p.c.Resolve(f.From)
		if err != nil {
			return fmt.Errorf("flow %s -> %s: %w", f.From, f.To, err)
		}
		to, err := p.c.Resolve(f.To)
		if err != nil || to.External != nil {
			return fmt.Errorf("flow %s -> %s: the target is not a workload", f.From, f.To)
		}
		port, ok := to.Workload.FindPort(f.Port)
		if !ok {
			return fmt.Errorf("flow %s -> %s: %s does not expose port %s; it has %s", f.From, f.To, to, f.Port, to.Workload.PortNames())
		}
		target := podSet{*to.App, *to.Workload}
		line := flowLine(f.From, f.To, port, f.Purpose)
		if p.restricted[target.app.Namespace] && !target.w.HostNetwork {
			if err := p.checkSelector(target); err != nil {
				return err
			}
			peers, nodes := p.sourcePeers(from)
			ap := p.policy(target)
			ap.ingress = add(ap.ingress, peers, policyPort(port), line)
			ap.nodeSources = ap.nodeSources || nodes
		}
		if from.External == nil && p.restricted[from.App.Namespace] && !from.Workload.HostNetwork {
			source := podSet{*from.App, *from.Workload}
			if err := p.checkSelector(source); err != nil {
				return err
			}
			ap := p.policy(source)
			ap.egress = add(ap.egress, p.targetPeers(target), policyPort(port), line)
		}
	}
	return nil
}

// apiServer lets the restricted pods marked apiServer reach the
// Kubernetes API on the servers.
func (p *policyPlan) apiServer() error {
	var peers []networkingv1.NetworkPolicyPeer
	for _, n := range p.c.Servers() {
		if a, err := netip.ParseAddr(n.IP); err == nil {
			peers = append(peers, ipPeer(netip.PrefixFrom(a, 32).String()))
		}
	}
	for _, app := range p.c.SortedApps() {
		if !p.restricted[app.Namespace] {
			continue
		}
		for _, w := range app.PodSets() {
			if !w.APIServer || w.HostNetwork {
				continue
			}
			if p.c.Network.APIPort == 0 || len(peers) == 0 {
				return fmt.Errorf("%s/%s talks to the Kubernetes API, and the model has no built server or no network.apiPort to allow", app.Name, w.Name)
			}
			s := podSet{app, w}
			if err := p.checkSelector(s); err != nil {
				return err
			}
			port := model.Port{Name: "kubernetes-api", Port: p.c.Network.APIPort, TargetPort: p.c.Network.APIPort, Protocol: string(corev1.ProtocolTCP)}
			ap := p.policy(s)
			line := fmt.Sprintf("%s -> the Kubernetes API on the servers (%d/TCP): a controller or operator (apiServer)", s.ref(), port.TargetPort)
			ap.egress = add(ap.egress, peers, policyPort(port), line)
		}
	}
	return nil
}

// checkSelector refuses a restricted pod set that selects no labels: its
// policy would apply to every pod of the namespace.
func (p *policyPlan) checkSelector(s podSet) error {
	if len(s.w.Selector) == 0 {
		return fmt.Errorf("%s has an empty selector, and namespace %s has a default deny: its policy would select every pod of the namespace; give it the labels of its pods", s.key(), s.app.Namespace)
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
		return p.nodeSources(""), true
	}
	return podPeers(from.App.Namespace, *from.Workload), false
}

// nodeSources are the addresses that traffic from outside the cluster and
// from the nodes' host network has when it reaches a pod: the outside
// CIDR (kept by externalTrafficPolicy: Local), each node's IP (SNAT with
// flannel's host-gw backend, which routes over the LAN) and each node's
// tunnel address (SNAT with the VXLAN and WireGuard backends, whose
// tunnel interface carries the packet). kube-router admits what the
// pod's own node sends without any rule.
func (p *policyPlan) nodeSources(cidr string) []networkingv1.NetworkPolicyPeer {
	var peers []networkingv1.NetworkPolicyPeer
	outside, err := netip.ParsePrefix(cidr)
	if err == nil {
		peers = append(peers, ipPeer(outside.Masked().String()))
	}
	for _, a := range p.nodeIPs {
		if err != nil || !outside.Contains(a) {
			peers = append(peers, ipPeer(netip.PrefixFrom(a, 32).String()))
		}
	}
	for _, a := range p.tunnels {
		peers = append(peers, ipPeer(netip.PrefixFrom(a, 32).String()))
	}
	return peers
}

// targetPeers are the peers that stand for a flow's target in the
// source's egress rule: its pods, or the nodes for a hostNetwork target.
func (p *policyPlan) targetPeers(to podSet) []networkingv1.NetworkPolicyPeer {
	if !to.w.HostNetwork {
		return podPeers(to.app.Namespace, to.w)
	}
	var peers []networkingv1.NetworkPolicyPeer
	for _, n := range p.c.ActiveNodes() {
		if to.w.Placement.Node != "" && n.Name != to.w.Placement.Node {
			continue
		}
		if a, err := netip.ParseAddr(n.IP); err == nil {
			peers = append(peers, ipPeer(netip.PrefixFrom(a, 32).String()))
		}
	}
	return peers
}

func podPeers(namespace string, w model.Workload) []networkingv1.NetworkPolicyPeer {
	return []networkingv1.NetworkPolicyPeer{{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: namespace}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: maps.Clone(w.Selector)},
	}}
}

func ipPeer(cidr string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}}
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
	np := newPolicy(s.policyName(), s.app.Namespace, metav1.LabelSelector{MatchLabels: maps.Clone(s.w.Selector)})
	np.Annotations[PurposeAnnotation] = "What the pods of " + s.ref() + " may receive and send, besides the cluster DNS: one rule per peer, with every port the model's flows open to it."
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
