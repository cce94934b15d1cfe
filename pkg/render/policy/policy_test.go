package policy_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/policy"
)

// npPolicies renders the policies and reads them back from the YAML the
// renderer writes, as the cluster would.
func npPolicies(t *testing.T, m *model.Model) []*networkingv1.NetworkPolicy {
	t.Helper()
	units, err := policy.NetworkPolicies(m)
	if err != nil {
		t.Fatalf("NetworkPolicies: %v", problemLines(err))
	}
	var out []*networkingv1.NetworkPolicy
	for _, u := range units {
		for _, o := range u.Objects {
			if want := "network-policies-" + o.GetNamespace(); u.Name != want || u.Layer != model.LayerInfrastructure {
				t.Errorf("%s is in unit %s of layer %s, want %s in infrastructure", kube.Ref(o), u.Name, u.Layer, want)
			}
			b, err := kube.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			var np networkingv1.NetworkPolicy
			if err := yaml.UnmarshalStrict(b, &np); err != nil {
				t.Fatalf("%s: %v", kube.Ref(o), err)
			}
			out = append(out, &np)
		}
	}
	return out
}

func npFind(t *testing.T, policies []*networkingv1.NetworkPolicy, namespace, name string) *networkingv1.NetworkPolicy {
	t.Helper()
	for _, np := range policies {
		if np.Namespace == namespace && np.Name == name {
			return np
		}
	}
	t.Fatalf("no NetworkPolicy %s/%s", namespace, name)
	return nil
}

// A peer of the connectivity matrix: a pod of a workload or helper, or an
// address that is no pod's.
type npPeer struct {
	name string
	// ns and labels are set for a pod; ip for every peer.
	ns     string
	labels map[string]string
	ip     string
	// key is the pod set ("app/workload") a pod belongs to.
	key string
	// apiServer and restricted describe a pod's egress; sources are the
	// model's flow sources an address-only source stands for.
	apiServer bool
	sources   []string
}

func (p npPeer) traffic() *matcher.TrafficPeer {
	tp := &matcher.TrafficPeer{IP: p.ip}
	if p.ns != "" {
		tp.Internal = &matcher.InternalPeer{
			Namespace:       p.ns,
			NamespaceLabels: map[string]string{corev1.LabelMetadataName: p.ns},
			PodLabels:       p.labels,
		}
	}
	return tp
}

// A destination: a peer and a port.
type npDest struct {
	peer     npPeer
	port     int
	protocol string
	what     string
}

func (d npDest) String() string {
	return fmt.Sprintf("%s %d/%s%s", d.peer.name, d.port, d.protocol, d.what)
}

// TestPoliciesWithCyclonus computes the connectivity of the rendered
// NetworkPolicies with an independent engine, cyclonus's matcher, for
// every pair of peers and every declared port, and compares it with what
// the model says: a declared flow is allowed, the cluster DNS and (for
// apiServer workloads) the Kubernetes API too, and everything else into
// or out of a restricted namespace is denied, both directions.
func TestPoliciesWithCyclonus(t *testing.T) {
	c := testCluster(t)
	m := testModel(t, c)
	policies := npPolicies(t, m)
	// cyclonus simplifies the policies it builds by default, and its
	// simplifier combines port ranges by appending to shared slices; the
	// plain engine is checked against it, pair by pair.
	engine := matcher.BuildNetworkPolicies(true, policies)
	plain := matcher.BuildNetworkPolicies(false, policies)

	restricted := map[string]bool{}
	for _, ns := range m.RestrictedNamespaces() {
		restricted[ns] = true
	}
	for _, ns := range []string{"cvat", "minio", "clearml", "metallb-system", "nvidia-device-plugin", "longhorn-system"} {
		if !restricted[ns] {
			t.Errorf("namespace %s has no default deny", ns)
		}
	}
	for _, ns := range []string{"kube-system", "flux-system"} {
		if restricted[ns] {
			t.Errorf("namespace %s has a default deny", ns)
		}
	}

	// The pods: one per workload and helper that runs in the pod network,
	// with an address of the pod range that is no node's tunnel address.
	pods := c.Network.Pods.Masked().Addr().As4()
	var podPeers []npPeer
	hostNetwork := map[string]bool{}
	for _, app := range m.Apps {
		for _, s := range app.PodSets() {
			w, key := s.Workload, s.Key()
			if w.HostNetwork {
				hostNetwork[key] = true
				continue
			}
			i := len(podPeers)
			ip := netip.AddrFrom4([4]byte{pods[0], pods[1], byte(i % 4), byte(10 + i)})
			podPeers = append(podPeers, npPeer{name: key, ns: app.Namespace, labels: maps.Clone(w.Selector), ip: ip.String(), key: key, apiServer: w.APIServer})
		}
	}
	// A selector that matches another pod set's labels would make a
	// policy reach pods it is not about.
	for _, p := range podPeers {
		for _, q := range podPeers {
			if p.key != q.key && p.ns == q.ns && selects(q.labels, p.labels) {
				t.Errorf("the selector of %s also selects the pods of %s", q.key, p.key)
			}
		}
	}

	// Sources that are addresses: a LAN client, each node's IP and two
	// tunnel addresses. Whatever is SNATed to a node (the outside through
	// a LoadBalancer IP) or sent by a node (hostNetwork workloads) may
	// come from a node's address, so those stand for every such source.
	var nodeSourced []string
	for _, e := range c.Externals {
		nodeSourced = append(nodeSourced, e.Name)
	}
	for key := range hostNetwork {
		nodeSourced = append(nodeSourced, key)
	}
	slices.Sort(nodeSourced)
	var addrPeers []npPeer
	for _, e := range c.Externals {
		a := c.ClientOf(e)
		addrPeers = append(addrPeers, npPeer{name: e.Name + " client " + a.String(), ip: a.String(), sources: []string{e.Name}})
	}
	for _, n := range m.Built {
		addrPeers = append(addrPeers, npPeer{name: "node " + n.Name + " " + n.IP.String(), ip: n.IP.String(), sources: nodeSourced})
	}
	last := netip.AddrFrom4([4]byte{pods[0], pods[1], 255, 0})
	for _, a := range []netip.Addr{netip.AddrFrom4([4]byte{pods[0], pods[1], 0, 0}), last} {
		addrPeers = append(addrPeers, npPeer{name: "tunnel " + a.String(), ip: a.String(), sources: nodeSourced})
	}
	sources := append(slices.Clone(podPeers), addrPeers...)

	// Destinations: every pod on each port it declares (the pod's port,
	// and the Service port when that differs: a policy never sees it; for
	// a range, its first, a middle and its last port, and the ports just
	// outside it), each server's API port, and an address outside the
	// cluster.
	var dests []npDest
	ranges := 0
	for _, p := range podPeers {
		ep, err := m.Resolve(p.key)
		if err != nil {
			t.Fatal(err)
		}
		for _, port := range ep.Workload.Ports {
			dests = append(dests, npDest{peer: p, port: port.TargetPort, protocol: port.Protocol})
			if port.Port != port.TargetPort {
				dests = append(dests, npDest{peer: p, port: port.Port, protocol: port.Protocol, what: " (Service port)"})
			}
			if port.IsRange() {
				ranges++
				for _, probe := range []struct {
					port int
					what string
				}{
					{(port.TargetPort + port.EndPort + 1) / 2, " (inside " + port.PodPorts() + ")"},
					{port.EndPort, " (last of " + port.PodPorts() + ")"},
					{port.TargetPort - 1, " (just below " + port.PodPorts() + ")"},
					{port.EndPort + 1, " (just above " + port.PodPorts() + ")"},
				} {
					dests = append(dests, npDest{peer: p, port: probe.port, protocol: port.Protocol, what: probe.what})
				}
			}
		}
	}
	if ranges == 0 {
		t.Error("the model declares no port range; the range probes check nothing")
	}
	for _, s := range m.Servers {
		dests = append(dests, npDest{peer: npPeer{name: "API " + s.Name, ip: s.IP.String()}, port: c.Network.APIPort, protocol: "TCP"})
	}
	dests = append(dests, npDest{peer: npPeer{name: "outside 203.0.113.10", ip: "203.0.113.10"}, port: 443, protocol: "TCP"})

	dnsNS, dns := m.DNS.App.Namespace, m.DNS.Workload
	dnsKey := ""
	for _, p := range podPeers {
		if p.ns == dnsNS && maps.Equal(p.labels, dns.Selector) {
			dnsKey = p.key
		}
	}
	if dnsKey == "" {
		t.Fatalf("the cluster DNS %s is not among the pods", dns.Name)
	}

	// declared reports whether a flow of the model goes from one of the
	// sources to the pod set on the port.
	declared := func(sources []string, to string, port int, protocol string) bool {
		for _, f := range c.Flows {
			from, err := m.Resolve(f.From)
			if err != nil {
				t.Fatal(err)
			}
			target, err := m.Resolve(f.To)
			if err != nil {
				t.Fatal(err)
			}
			fromKey := f.From
			if from.External == nil {
				fromKey = from.Key()
			}
			p, _ := target.Workload.FindPort(f.Port)
			if slices.Contains(sources, fromKey) && target.App.Name+"/"+target.Workload.Name == to && p.TargetPort <= port && port <= p.Last() && p.Protocol == protocol {
				return true
			}
		}
		return false
	}
	want := func(src npPeer, d npDest) bool {
		in := true
		if d.peer.ns != "" && restricted[d.peer.ns] {
			srcs := src.sources
			if src.ns != "" {
				srcs = []string{src.key}
			}
			in = declared(srcs, d.peer.key, d.port, d.protocol)
		}
		out := true
		if src.ns != "" && restricted[src.ns] {
			switch {
			case d.peer.key == dnsKey:
				out = slices.ContainsFunc(dns.Ports, func(p model.Port) bool { return p.TargetPort == d.port && p.Protocol == d.protocol })
			case strings.HasPrefix(d.peer.name, "API "):
				out = src.apiServer
			case d.peer.ns != "":
				out = declared([]string{src.key}, d.peer.key, d.port, d.protocol)
			default:
				out = false
			}
		}
		return in && out
	}

	type result struct{ got, want bool }
	results := make([][]result, len(sources))
	var mismatches []string
	allowed, denied := 0, 0
	for i, src := range sources {
		results[i] = make([]result, len(dests))
		for j, d := range dests {
			traffic := &matcher.Traffic{
				Source: src.traffic(), Destination: d.peer.traffic(),
				ResolvedPort: d.port, Protocol: corev1.Protocol(d.protocol),
			}
			got := engine.IsTrafficAllowed(traffic).IsAllowed()
			if unsimplified := plain.IsTrafficAllowed(traffic).IsAllowed(); unsimplified != got {
				t.Errorf("%s -> %s: cyclonus says %v simplified, %v not", src.name, d, got, unsimplified)
			}
			results[i][j] = result{got, want(src, d)}
			if got {
				allowed++
			} else {
				denied++
			}
			if got != results[i][j].want {
				verdict := "denied, and the model allows it"
				if got {
					verdict = "allowed, and the model does not allow it"
				}
				mismatches = append(mismatches, fmt.Sprintf("%s -> %s: %s", src.name, d, verdict))
			}
		}
	}

	// Every declared flow to a pod was among the pairs, and allowed.
	flowsChecked := 0
	for _, f := range c.Flows {
		from, _ := m.Resolve(f.From)
		to, _ := m.Resolve(f.To)
		if to.Workload.HostNetwork {
			continue
		}
		port, _ := to.Workload.FindPort(f.Port)
		toKey := to.App.Name + "/" + to.Workload.Name
		found := false
		for i, src := range sources {
			if from.External != nil && !slices.Contains(src.sources, f.From) {
				continue
			}
			if from.External == nil && !from.Workload.HostNetwork && src.key != from.App.Name+"/"+from.Workload.Name {
				continue
			}
			if from.External == nil && from.Workload.HostNetwork && !slices.Contains(src.sources, from.App.Name+"/"+from.Workload.Name) {
				continue
			}
			for j, d := range dests {
				if d.peer.key == toKey && d.port == port.TargetPort && d.protocol == port.Protocol && d.what == "" {
					found = true
					if !results[i][j].got {
						t.Errorf("flow %s -> %s %s: %s to %s is denied", f.From, f.To, f.Port, src.name, d)
					}
				}
			}
		}
		if !found {
			t.Errorf("flow %s -> %s %s was not checked", f.From, f.To, f.Port)
		}
		flowsChecked++
	}

	t.Logf("cyclonus checked %d pairs (%d sources x %d destination ports, %d of them probing %d port ranges): %d allowed, %d denied; %d declared flows to pods among them",
		len(sources)*len(dests), len(sources), len(dests), 4*ranges, ranges, allowed, denied, flowsChecked)
	if len(mismatches) > 0 {
		t.Errorf("%d pairs differ from the model:\n  %s", len(mismatches), strings.Join(mismatches, "\n  "))
	}
	if t.Failed() {
		t.Logf("the full matrix (A allowed, . denied, ! where cyclonus and the model disagree):\n%s", npMatrix(sources, dests, func(i, j int) (bool, bool) {
			return results[i][j].got, results[i][j].want
		}))
	}
}

// npMatrix prints the connectivity matrix: a row per source, a column per
// numbered destination.
func npMatrix(sources []npPeer, dests []npDest, cell func(i, j int) (got, want bool)) string {
	var b strings.Builder
	width := 0
	for _, s := range sources {
		width = max(width, len(s.name))
	}
	for j, d := range dests {
		fmt.Fprintf(&b, "  %3d  %s\n", j, d)
	}
	fmt.Fprintf(&b, "%-*s ", width, "")
	for j := range dests {
		fmt.Fprintf(&b, "%-3d", j%1000)
	}
	b.WriteString("\n")
	for i, s := range sources {
		fmt.Fprintf(&b, "%-*s ", width, s.name)
		for j := range dests {
			got, want := cell(i, j)
			mark := "."
			if got {
				mark = "A"
			}
			if got != want {
				mark = "!" + mark
			}
			fmt.Fprintf(&b, "%-3s", mark)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// npTiny is a small synthetic cluster (TEST-NET addresses) with every
// kind of flow end: pods in restricted namespaces, an open namespace,
// hostNetwork workloads, and two outside sources.
func npTiny() *model.Cluster {
	tcp := func(name string, port, target int) model.Port {
		return model.Port{Name: name, Port: port, TargetPort: target, Protocol: "TCP"}
	}
	ip := netip.MustParseAddr
	cidr := netip.MustParsePrefix
	c := &model.Cluster{
		Name: "tiny",
		Versions: model.Versions{K3s: "v1.35.7+k3s1", Flux: "v2.9.4",
			FluxOperator: model.Chart{Repository: "oci://registry.example/charts", Name: "flux-operator", Version: "0.59.0"}},
		Network: model.Network{LAN: cidr("192.0.2.0/24"), Pods: cidr("10.42.0.0/16"), Services: cidr("10.43.0.0/16"),
			APIVIP: ip("192.0.2.5"), APIPort: 6443, SSHPort: 22,
			LoadBalancerPool: model.Pool{First: ip("192.0.2.200"), Last: ip("192.0.2.220")}},
		NodePorts: []model.NodePort{{Port: 6443, Protocol: "TCP", On: []model.Role{model.Server}, From: []string{"nodes", "lan"}}},
		Nodes: []model.Node{
			{Name: "s1", IP: ip("192.0.2.11"), Role: model.Server},
			{Name: "a1", IP: ip("192.0.2.21"), Role: model.Agent},
			{Name: "later", Role: model.Agent, Planned: true},
		},
		Externals: []model.External{{Name: "lan", CIDR: cidr("192.0.2.0/24")}, {Name: "vpn", CIDR: cidr("198.51.100.0/24")}},
		AppsByName: map[string]model.App{
			"web": {Name: "web", Namespace: "web", Component: "container", Workloads: []model.Workload{{
				Name: "web", Selector: map[string]string{"app": "web"}, Ports: []model.Port{tcp("http", 80, 8080)},
				LoadBalancers: []model.LoadBalancer{{IP: ip("192.0.2.200"), Ports: []model.LBPort{{Name: "http", Port: 80}}}},
			}}},
			"db": {Name: "db", Namespace: "web", Component: "container", Workloads: []model.Workload{{
				Name: "db", Selector: map[string]string{"app": "db"}, Ports: []model.Port{tcp("pg", 5432, 5432)},
			}}},
			"op": {Name: "op", Namespace: "ops", Component: "helm", Workloads: []model.Workload{
				{Name: "operator", Selector: map[string]string{"app": "op"}, Ports: []model.Port{tcp("webhook", 443, 9443)}, APIServer: true},
				{Name: "agent", Selector: map[string]string{"app": "agent"}, Ports: []model.Port{tcp("metrics", 9100, 9100)}, HostNetwork: true},
			}},
			"k3s": {Name: "k3s", Namespace: "kube-system", Component: "k3s-builtin", Workloads: []model.Workload{
				{Name: "coredns", Selector: map[string]string{"k8s-app": "kube-dns"}, ClusterDNS: true,
					Ports: []model.Port{{Name: "dns", Port: 53, TargetPort: 53, Protocol: "UDP"}}},
				{Name: "apiserver", Selector: map[string]string{}, HostNetwork: true},
			}},
			"open": {Name: "open", Namespace: "open", Component: "helm", OpenNamespace: true, Workloads: []model.Workload{{
				Name: "ui", Selector: map[string]string{"app": "ui"}, Ports: []model.Port{tcp("http", 80, 80)},
				LoadBalancers: []model.LoadBalancer{{IP: ip("192.0.2.201"), Ports: []model.LBPort{{Name: "http", Port: 80}}}},
			}}},
		},
		Flows: []model.Flow{
			{From: "lan", To: "web", Port: model.FlowPort{Name: "http"}, Purpose: "browsers"},
			{From: "vpn", To: "web", Port: model.FlowPort{Number: 80}, Purpose: "remote browsers"},
			{From: "web", To: "db", Port: model.FlowPort{Number: 5432}, Purpose: "queries"},
			{From: "k3s/apiserver", To: "op/operator", Port: model.FlowPort{Name: "webhook"}, Purpose: "admission"},
			{From: "web", To: "op/agent", Port: model.FlowPort{Name: "metrics"}, Purpose: "scrapes the node agent"},
			{From: "web", To: "open/ui", Port: model.FlowPort{Name: "http"}, Purpose: "links"},
			{From: "lan", To: "open/ui", Port: model.FlowPort{Name: "http"}, Purpose: "the UI"},
		},
	}
	for name, app := range c.AppsByName {
		switch app.Component {
		case "container":
			app.Container = &model.Container{Image: "example.org/" + name + ":1"}
		case "helm":
			app.Helm = &model.Helm{}
		}
		c.AppsByName[name] = app
	}
	return c
}

func npNames(policies []*networkingv1.NetworkPolicy) []string {
	var names []string
	for _, np := range policies {
		names = append(names, np.Namespace+"/"+np.Name)
	}
	slices.Sort(names)
	return names
}

func npCIDRs(peers []networkingv1.NetworkPolicyPeer) []string {
	var out []string
	for _, p := range peers {
		if p.IPBlock != nil {
			out = append(out, p.IPBlock.CIDR)
		}
	}
	return out
}

func npPorts(ports []networkingv1.NetworkPolicyPort) []string {
	var out []string
	for _, p := range ports {
		port := p.Port.String()
		if p.EndPort != nil {
			port += fmt.Sprintf("-%d", *p.EndPort)
		}
		out = append(out, fmt.Sprintf("%s/%s", port, *p.Protocol))
	}
	return out
}

func TestNetworkPoliciesTiny(t *testing.T) {
	m := testModel(t, npTiny())
	policies := npPolicies(t, m)
	want := []string{
		"ops/allow-dns-ops", "ops/allow-op-operator", "ops/default-deny-ops",
		"web/allow-db", "web/allow-dns-web", "web/allow-web", "web/default-deny-web",
	}
	if got := npNames(policies); !slices.Equal(got, want) {
		t.Fatalf("policies %v, want %v (none in kube-system, the open namespace, or for hostNetwork pods)", got, want)
	}

	deny := npFind(t, policies, "web", "default-deny-web")
	if len(deny.Spec.PodSelector.MatchLabels) != 0 || len(deny.Spec.Ingress)+len(deny.Spec.Egress) != 0 ||
		!slices.Equal(deny.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
		t.Errorf("default-deny-web = %+v, want every pod, both directions, no rule", deny.Spec)
	}
	dns := npFind(t, policies, "web", "allow-dns-web")
	if e := dns.Spec.Egress; len(e) != 1 || e[0].To[0].NamespaceSelector.MatchLabels[corev1.LabelMetadataName] != "kube-system" ||
		e[0].To[0].PodSelector.MatchLabels["k8s-app"] != "kube-dns" || !slices.Equal(npPorts(e[0].Ports), []string{"53/UDP"}) {
		t.Errorf("allow-dns-web egress = %+v, want the model's DNS workload on its ports", e)
	}

	web := npFind(t, policies, "web", "allow-web")
	if web.Spec.PodSelector.MatchLabels["app"] != "web" {
		t.Errorf("allow-web selects %v", web.Spec.PodSelector)
	}
	// The LAN and the VPN both reach the pod port 8080 (the Service's 80
	// never reaches a policy); the VPN, outside the LAN, also from every
	// built node's IP; both from every tunnel address.
	if len(web.Spec.Ingress) != 2 {
		t.Fatalf("allow-web ingress has %d rules, want 2 (the LAN, the VPN)", len(web.Spec.Ingress))
	}
	lan, vpn := npCIDRs(web.Spec.Ingress[0].From), npCIDRs(web.Spec.Ingress[1].From)
	if len(lan) != 1+256 || lan[0] != "192.0.2.0/24" || lan[1] != "10.42.0.0/32" || lan[256] != "10.42.255.0/32" {
		t.Errorf("the LAN's rule admits %d blocks starting %v, want the LAN and 256 tunnel addresses", len(lan), lan[:min(3, len(lan))])
	}
	if len(vpn) != 3+256 || !slices.Equal(vpn[:3], []string{"198.51.100.0/24", "192.0.2.11/32", "192.0.2.21/32"}) {
		t.Errorf("the VPN's rule admits %v..., want its CIDR, the built nodes' IPs and the tunnel addresses", vpn[:min(4, len(vpn))])
	}
	for _, r := range web.Spec.Ingress {
		if !slices.Equal(npPorts(r.Ports), []string{"8080/TCP"}) {
			t.Errorf("allow-web ingress ports %v, want the pod's 8080/TCP", npPorts(r.Ports))
		}
	}
	if web.Annotations[policy.NodeSourcesAnnotation] == "" || !strings.Contains(web.Annotations[policy.FlowsAnnotation], "in:  vpn -> web http (Service port 80, pod port 8080/TCP): remote browsers") {
		t.Errorf("allow-web annotations = %v", web.Annotations)
	}
	// Egress: the database's pods, the hostNetwork agent on the nodes, and
	// the open namespace's UI; nothing else.
	if len(web.Spec.Egress) != 3 {
		t.Fatalf("allow-web egress = %+v, want 3 rules", web.Spec.Egress)
	}
	if e := web.Spec.Egress[0]; e.To[0].PodSelector.MatchLabels["app"] != "db" || e.To[0].NamespaceSelector.MatchLabels[corev1.LabelMetadataName] != "web" || !slices.Equal(npPorts(e.Ports), []string{"5432/TCP"}) {
		t.Errorf("egress to the database = %+v", e)
	}
	if e := web.Spec.Egress[1]; !slices.Equal(npCIDRs(e.To), []string{"192.0.2.11/32", "192.0.2.21/32"}) || !slices.Equal(npPorts(e.Ports), []string{"9100/TCP"}) {
		t.Errorf("egress to the hostNetwork agent = %+v, want the built nodes on 9100", e)
	}
	if e := web.Spec.Egress[2]; e.To[0].NamespaceSelector.MatchLabels[corev1.LabelMetadataName] != "open" || !slices.Equal(npPorts(e.Ports), []string{"80/TCP"}) {
		t.Errorf("egress to the open namespace = %+v", e)
	}

	op := npFind(t, policies, "ops", "allow-op-operator")
	if len(op.Spec.Ingress) != 1 || len(npCIDRs(op.Spec.Ingress[0].From)) != 2+256 || !slices.Equal(npPorts(op.Spec.Ingress[0].Ports), []string{"9443/TCP"}) {
		t.Errorf("the webhook's ingress = %+v, want the nodes and tunnel addresses on the pod port", op.Spec.Ingress)
	}
	if len(op.Spec.Egress) != 1 || !slices.Equal(npCIDRs(op.Spec.Egress[0].To), []string{"192.0.2.11/32"}) || !slices.Equal(npPorts(op.Spec.Egress[0].Ports), []string{"6443/TCP"}) {
		t.Errorf("the operator's egress = %+v, want the API on the one server", op.Spec.Egress)
	}

	// The same model renders the same bytes.
	again := npPolicies(t, testModel(t, npTiny()))
	for i := range policies {
		a, _ := json.Marshal(policies[i])
		b, _ := json.Marshal(again[i])
		if string(a) != string(b) {
			t.Errorf("%s differs between two renders", policies[i].Name)
		}
	}
}

func TestNetworkPoliciesRefuse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *model.Cluster)
		path   string
		want   string
	}{
		{"empty selector", func(c *model.Cluster) {
			editApp(c, "db", func(app *model.App) { app.Workloads[0].Selector = map[string]string{} })
		}, "apps.db.workloads.0.selector", "db/db has an empty selector"},
		{"DNS behind a default deny", func(c *model.Cluster) {
			editApp(c, "k3s", func(app *model.App) { app.Namespace = "web" })
		}, "apps.k3s.workloads.0.clusterDNS", "the cluster DNS coredns runs in namespace web, which has a default deny"},
		{"pod range too wide", func(c *model.Cluster) {
			c.Network.Pods, c.Network.Services = netip.MustParsePrefix("10.32.0.0/12"), netip.MustParsePrefix("10.96.0.0/12")
		}, "network.pods", "holds 4096 node slices"},
		{"function without its deploy Job", func(c *model.Cluster) {
			c.AppsByName["fn"] = model.App{Name: "fn", Namespace: "web", Component: "nuclio-function",
				Workloads: []model.Workload{{Name: "fn", Selector: map[string]string{"nuclio.io/function-name": "fn"}}}}
		}, "apps.fn.helpers", "declare it as a helper of the app with selector app.kubernetes.io/component=deployer, app.kubernetes.io/name=fn and apiServer: true"},
		{"two policies of one name", func(c *model.Cluster) {
			c.AppsByName["dns"] = model.App{Name: "dns", Namespace: "ops", Component: "container",
				Workloads: []model.Workload{{Name: "ops", Selector: map[string]string{"app": "x"}, APIServer: true}}}
		}, "apps.dns.workloads.0.name", "two NetworkPolicies of namespace ops would be named allow-dns-ops; rename a workload"},
		{"API without a port", func(c *model.Cluster) { c.Network.APIPort = 0 }, "apps.op.workloads.0.apiServer", "no built server or no network.apiPort"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := npTiny()
			tc.change(c)
			_, err := policy.NetworkPolicies(testModel(t, c))
			if err == nil {
				t.Fatalf("the policies render; want %q", tc.want)
			}
			wantProblem(t, err, tc.path, tc.want)
		})
	}
	// Without a built server, the API the apiServer workloads reach is
	// nowhere: the model's validation refuses that before (etcd quorum).
	c := npTiny()
	c.Nodes[0].Role = model.Agent
	_, err := model.Validate(c)
	if err == nil {
		t.Fatal("a cluster without a server is valid")
	}
	wantProblem(t, err, "nodes", "the cluster has no server that is built")

	// A function whose deploy Job is a helper with API access renders.
	c = npTiny()
	fn := model.App{Name: "fn", Namespace: "web", Component: "nuclio-function",
		Workloads: []model.Workload{{Name: "fn", Selector: map[string]string{"nuclio.io/function-name": "fn"}}}}
	fn.Helpers = []model.Workload{{Name: "deployer", Selector: component.NuclioDeployerLabels(&fn), APIServer: true}}
	c.AppsByName["fn"] = fn
	np := npFind(t, npPolicies(t, testModel(t, c)), "web", "allow-fn-deployer")
	if len(np.Spec.Egress) != 1 || np.Spec.Egress[0].Ports[0].Port.IntValue() != 6443 {
		t.Errorf("the deploy Job's egress = %+v, want the API", np.Spec.Egress)
	}
}

func TestNetworkPoliciesNoneRestricted(t *testing.T) {
	c := npTiny()
	for name := range c.AppsByName {
		editApp(c, name, func(app *model.App) { app.OpenNamespace = true })
	}
	m := testModel(t, c)
	units, err := policy.NetworkPolicies(m)
	if err != nil || len(units) != 0 {
		t.Errorf("with every namespace open: %d units, error %v; want none", len(units), err)
	}
	if got := m.RestrictedNamespaces(); len(got) != 0 {
		t.Errorf("restricted namespaces %v, want none", got)
	}
}

// Without a workload marked clusterDNS, the pods ask K3s's CoreDNS.
func TestNetworkPoliciesDefaultDNS(t *testing.T) {
	c := npTiny()
	delete(c.AppsByName, "k3s")
	c.Flows = slices.DeleteFunc(c.Flows, func(f model.Flow) bool { return strings.HasPrefix(f.From, "k3s/") })
	m := testModel(t, c)
	if dns := m.DNS; m.DNSDeclared || dns.App.Namespace != "kube-system" || dns.Workload.Selector["k8s-app"] != "kube-dns" || len(dns.Workload.Ports) != 2 {
		t.Errorf("default DNS = %s %+v (declared %v), want K3s's CoreDNS in kube-system on 53/UDP and 53/TCP", dns.App.Namespace, dns.Workload, m.DNSDeclared)
	}
	dns := npFind(t, npPolicies(t, m), "ops", "allow-dns-ops")
	if got := npPorts(dns.Spec.Egress[0].Ports); !slices.Equal(got, []string{"53/UDP", "53/TCP"}) {
		t.Errorf("DNS ports %v", got)
	}
}

// TestPolylabPolicies pins what the polylab model needs beyond the flows:
// the webhook of MetalLB from the nodes, the API for controllers, and
// the pods charts create besides the workloads.
func TestPolylabPolicies(t *testing.T) {
	c := testCluster(t)
	policies := npPolicies(t, testModel(t, c))
	for _, name := range []struct{ ns, name string }{
		{"metallb-system", "allow-metallb-controller"}, {"cvat", "allow-cvat-nuclio-dashboard"},
		{"cvat", "allow-yolo11x-cvat-detector-gpu-deployer"}, {"minio", "allow-minio-make-bucket-job"},
		{"clearml", "allow-clearml-asyncdelete"}, {"nvidia-device-plugin", "default-deny-nvidia-device-plugin"},
	} {
		npFind(t, policies, name.ns, name.name)
	}
	for _, np := range policies {
		if np.Namespace == "kube-system" || np.Namespace == "flux-system" {
			t.Errorf("%s/%s: that namespace is open", np.Namespace, np.Name)
		}
		if np.Annotations[policy.PurposeAnnotation] == "" {
			t.Errorf("%s/%s says nothing of its purpose", np.Namespace, np.Name)
		}
	}
	// Longhorn: the API server reaches the manager's webhook from the
	// nodes; the instance managers take their gRPC and process ranges
	// from the managers, and the process range from each other.
	manager := npFind(t, policies, "longhorn-system", "allow-longhorn-manager")
	webhook := false
	for _, r := range manager.Spec.Ingress {
		if slices.Equal(npPorts(r.Ports), []string{"9502/TCP"}) && slices.Contains(npCIDRs(r.From), "192.168.20.221/32") {
			webhook = true
		}
	}
	if !webhook {
		t.Errorf("allow-longhorn-manager admits no webhook call from the nodes: %+v", manager.Spec.Ingress)
	}
	im := npFind(t, policies, "longhorn-system", "allow-longhorn-instance-manager")
	if r := im.Spec.Ingress[0]; r.From[0].PodSelector.MatchLabels["app"] != "longhorn-manager" || !slices.Equal(npPorts(r.Ports), []string{"8500-8503/TCP", "10000-20000/TCP"}) {
		t.Errorf("the instance managers' first ingress rule = %v from %+v, want the managers on 8500-8503 and 10000-20000", npPorts(r.Ports), r.From)
	}
	if r := im.Spec.Egress[0]; r.To[0].PodSelector.MatchLabels["longhorn.io/component"] != "instance-manager" || !slices.Equal(npPorts(r.Ports), []string{"10000-20000/TCP"}) {
		t.Errorf("the instance managers' first egress rule = %v to %+v, want each other on 10000-20000", npPorts(r.Ports), r.To)
	}

	dashboard := npFind(t, policies, "cvat", "allow-cvat-nuclio-dashboard")
	for _, r := range dashboard.Spec.Ingress {
		for _, p := range r.Ports {
			if p.Port.IntValue() != 8070 {
				t.Errorf("the Nuclio dashboard admits port %s; its pod listens on 8070 (80 is its LoadBalancer's port)", p.Port.String())
			}
		}
	}
	// Every flow of the owner's note (polylab.md) is in the model.
	flows := map[string]bool{}
	for _, f := range c.Flows {
		flows[f.From+" -> "+f.To] = true
	}
	for _, f := range []string{"cvat/backend -> minio", "cvat/backend -> cvat-postgresql", "cvat/backend -> cvat-redis",
		"cvat/backend -> cvat/nuclio-dashboard", "cvat/nuclio-dashboard -> yolo11x-cvat-detector-gpu",
		"lan -> clearml/apiserver", "clearml/apiserver -> minio", "lan -> traefik", "traefik -> cvat/frontend"} {
		if !flows[f] {
			t.Errorf("flow %s is missing", f)
		}
	}
}

// TestFlowValidation checks what the model's validation says of flows,
// helpers and the flags the policies read.
func TestFlowValidation(t *testing.T) {
	issues := func(c *model.Cluster) string {
		_, err := model.Validate(c)
		if err == nil {
			return ""
		}
		return problemLines(err)
	}
	if got := issues(npTiny()); got != "" {
		t.Fatalf("the tiny cluster has issues:\n%s", got)
	}
	for _, tc := range []struct {
		name   string
		change func(c *model.Cluster)
		want   string
	}{
		{"helper named as a workload", func(c *model.Cluster) {
			editApp(c, "web", func(app *model.App) {
				app.Helpers = []model.Workload{{Name: "web", Selector: map[string]string{"app": "job"}}}
			})
		}, "apps.web.helpers.0.name: app web has a workload and a helper named web"},
		{"helper with a LoadBalancer", func(c *model.Cluster) {
			editApp(c, "web", func(app *model.App) {
				app.Helpers = []model.Workload{{Name: "job", Selector: map[string]string{"app": "job"}, Ports: []model.Port{{Name: "http", Port: 80, TargetPort: 80, Protocol: "TCP"}},
					LoadBalancers: []model.LoadBalancer{{IP: netip.MustParseAddr("192.0.2.202"), Ports: []model.LBPort{{Name: "http", Port: 80}}}}}}
			})
		}, "apps.web.helpers.0.loadBalancers: web/job is a helper"},
		{"namespace open for one app only", func(c *model.Cluster) {
			editApp(c, "db", func(app *model.App) { app.OpenNamespace = true })
		}, "apps.web.openNamespace: apps db and web share namespace web, and only one of them sets openNamespace"},
		{"two DNS servers", func(c *model.Cluster) {
			editApp(c, "db", func(app *model.App) { app.Workloads[0].ClusterDNS = true })
		}, "db/db, k3s/coredns are all marked clusterDNS"},
		{"DNS without ports", func(c *model.Cluster) {
			editApp(c, "k3s", func(app *model.App) { app.Workloads[0].Ports = nil })
		}, "apps.k3s.workloads.0.clusterDNS: k3s/coredns is marked clusterDNS and declares no ports"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := npTiny()
			tc.change(c)
			if got := issues(c); !strings.Contains(got, tc.want) {
				t.Errorf("issues:\n%s\nwant one containing %q", got, tc.want)
			}
		})
	}

	// Flows name helpers as they name workloads.
	c := npTiny()
	editApp(c, "web", func(app *model.App) {
		app.Helpers = []model.Workload{{Name: "migrate", Selector: map[string]string{"app": "migrate"}}}
	})
	c.Flows = append(c.Flows, model.Flow{From: "web/migrate", To: "db", Port: model.FlowPort{Name: "pg"}, Purpose: "migrations"})
	if got := issues(c); got != "" {
		t.Fatalf("a flow from a helper: %s", got)
	}
	m := testModel(t, c)
	ep, err := m.Resolve("web/migrate")
	if err != nil || !ep.Helper || ep.Workload.Name != "migrate" {
		t.Errorf("Resolve(web/migrate) = %+v, %v", ep, err)
	}
	if _, err := m.Resolve("web/nope"); err == nil || !strings.Contains(err.Error(), "it has web/web, web/migrate") {
		t.Errorf("Resolve(web/nope) error %v, want the workloads and helpers listed", err)
	}
	np := npFind(t, npPolicies(t, m), "web", "allow-web-migrate")
	if len(np.Spec.Egress) != 1 || np.Spec.Egress[0].To[0].PodSelector.MatchLabels["app"] != "db" {
		t.Errorf("the helper's egress = %+v", np.Spec.Egress)
	}
}

// TestNetworkPoliciesPortRange checks a port with endPort: the rule opens
// the whole range and nothing beside it, as cyclonus reads it.
func TestNetworkPoliciesPortRange(t *testing.T) {
	c := npTiny()
	editApp(c, "op", func(app *model.App) {
		app.Workloads[0].Ports = append(app.Workloads[0].Ports,
			model.Port{Name: "data", Port: 10000, TargetPort: 10000, EndPort: 10010, Protocol: "TCP"})
	})
	c.Flows = append(c.Flows, model.Flow{From: "web", To: "op/operator", Port: model.FlowPort{Name: "data"}, Purpose: "replication"})
	policies := npPolicies(t, testModel(t, c))
	op := npFind(t, policies, "ops", "allow-op-operator")
	var ports []string
	for _, r := range op.Spec.Ingress {
		ports = append(ports, npPorts(r.Ports)...)
	}
	if !slices.Contains(ports, "10000-10010/TCP") {
		t.Errorf("the operator admits %v, want 10000-10010/TCP among them", ports)
	}
	web := npFind(t, policies, "web", "allow-web")
	if !strings.Contains(web.Annotations[policy.FlowsAnnotation], "out: web -> op/operator data (10000-10010/TCP): replication") {
		t.Errorf("allow-web says it opens:\n%s", web.Annotations[policy.FlowsAnnotation])
	}

	engine := matcher.BuildNetworkPolicies(false, policies)
	from := &matcher.TrafficPeer{IP: "10.42.0.10", Internal: &matcher.InternalPeer{
		Namespace: "web", NamespaceLabels: map[string]string{corev1.LabelMetadataName: "web"}, PodLabels: map[string]string{"app": "web"}}}
	to := &matcher.TrafficPeer{IP: "10.42.1.10", Internal: &matcher.InternalPeer{
		Namespace: "ops", NamespaceLabels: map[string]string{corev1.LabelMetadataName: "ops"}, PodLabels: map[string]string{"app": "op"}}}
	for port, want := range map[int]bool{9999: false, 10000: true, 10005: true, 10010: true, 10011: false} {
		got := engine.IsTrafficAllowed(&matcher.Traffic{Source: from, Destination: to, ResolvedPort: port, Protocol: corev1.ProtocolTCP}).IsAllowed()
		if got != want {
			t.Errorf("web -> op/operator %d/TCP allowed = %v, want %v", port, got, want)
		}
	}
	// The same flow named by the range's first port.
	c.Flows[len(c.Flows)-1].Port = model.FlowPort{Number: 10000}
	if web := npFind(t, npPolicies(t, testModel(t, c)), "web", "allow-web"); !strings.Contains(web.Annotations[policy.FlowsAnnotation], "data (10000-10010/TCP)") {
		t.Errorf("a flow to port 10000 does not open the range:\n%s", web.Annotations[policy.FlowsAnnotation])
	}
}

// TestPortRangeValidation checks what the model's validation says of
// ports with endPort. (That a container app declares none is the
// container component's: TestContainerRefuses in component_test.)
func TestPortRangeValidation(t *testing.T) {
	ranged := func(p model.Port) func(c *model.Cluster) {
		return func(c *model.Cluster) {
			editApp(c, "op", func(app *model.App) { app.Workloads[0].Ports = append(app.Workloads[0].Ports, p) })
		}
	}
	for _, tc := range []struct {
		name   string
		change func(c *model.Cluster)
		want   string
	}{
		{"reversed", ranged(model.Port{Name: "data", Port: 10000, TargetPort: 10000, EndPort: 9000, Protocol: "TCP"}),
			"apps.op.workloads.0.ports.1.endPort: op/operator: port data is the range 10000-9000, which ends before it starts"},
		{"empty", ranged(model.Port{Name: "data", Port: 10000, TargetPort: 10000, EndPort: 10000, Protocol: "TCP"}),
			"endPort must be greater than port"},
		{"too high", ranged(model.Port{Name: "data", Port: 10000, TargetPort: 10000, EndPort: 70000, Protocol: "TCP"}),
			"port data ends at 70000, outside 1-65535"},
		{"translated", ranged(model.Port{Name: "data", Port: 80, TargetPort: 10000, EndPort: 10010, Protocol: "TCP"}),
			"apps.op.workloads.0.ports.1.targetPort: op/operator: port data is a range, which no Service translates"},
		{"overlapping", ranged(model.Port{Name: "data", Port: 9000, TargetPort: 9000, EndPort: 9500, Protocol: "TCP"}),
			"the range 9000-9500 of port data overlaps port webhook (9443/TCP)"},
		{"behind a LoadBalancer", func(c *model.Cluster) {
			editApp(c, "web", func(app *model.App) {
				app.Workloads[0].Ports[0].EndPort = 8090
				app.Workloads[0].Ports[0].Port = 8080
			})
		}, "the LoadBalancer on 192.0.2.200 exposes port http, a range (8080-8090)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := npTiny()
			tc.change(c)
			_, err := model.Validate(c)
			if err == nil {
				t.Fatalf("the model is valid; want a problem containing %q", tc.want)
			}
			if got := problemLines(err); !strings.Contains(got, tc.want) {
				t.Errorf("issues:\n%s\nwant one containing %q", got, tc.want)
			}
		})
	}
}

// TestLonghornPodsDescribed: with a default deny in longhorn-system, the
// model must describe the pods Longhorn runs, with their API access.
func TestLonghornPodsDescribed(t *testing.T) {
	c := testCluster(t)
	editApp(c, "longhorn", func(app *model.App) {
		app.Helpers = slices.DeleteFunc(app.Helpers, func(h model.Workload) bool { return h.Name == "instance-manager" })
	})
	c.Flows = slices.DeleteFunc(c.Flows, func(f model.Flow) bool {
		return strings.Contains(f.From+" "+f.To, "longhorn/instance-manager")
	})
	_, err := policy.NetworkPolicies(testModel(t, c))
	if err == nil {
		t.Fatal("without the instance managers, the policies render")
	}
	wantProblem(t, err, "apps.longhorn.helpers", "the model does not describe the instance managers, which run the engines and replicas; declare it as a helper of the app with selector longhorn.io/component=instance-manager")

	c = testCluster(t)
	var csi string
	editApp(c, "longhorn", func(app *model.App) {
		i := slices.IndexFunc(app.Helpers, func(h model.Workload) bool { return h.Name == "csi-plugin" })
		app.Helpers[i].APIServer = false
		csi = app.Path("helpers", i, "apiServer").String()
	})
	_, err = policy.NetworkPolicies(testModel(t, c))
	if err == nil {
		t.Fatal("with the CSI plugin cut off the API, the policies render")
	}
	wantProblem(t, err, csi, "the CSI plugin (longhorn/csi-plugin) talks to the Kubernetes API")

	// An open longhorn-system needs none of it.
	c = testCluster(t)
	var helpers []string
	editApp(c, "longhorn", func(app *model.App) {
		for _, h := range app.Helpers {
			helpers = append(helpers, app.Name+"/"+h.Name)
		}
		app.Helpers, app.OpenNamespace = nil, true
	})
	c.Flows = slices.DeleteFunc(c.Flows, func(f model.Flow) bool {
		return slices.Contains(helpers, f.From) || slices.Contains(helpers, f.To)
	})
	if _, err := policy.NetworkPolicies(testModel(t, c)); err != nil {
		t.Errorf("an open longhorn-system: %v", problemLines(err))
	}
}
