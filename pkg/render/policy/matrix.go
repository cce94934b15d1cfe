package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// The flow documentation of the cluster README (docs.README), which a
// pull request shows: who may talk to whom, as the NetworkPolicies render
// it (FlowMatrix), and what a reader needs to read it (FlowNotes).

// FlowMatrix returns two Markdown tables: the namespaces (whether each has
// a default deny, and why not), then every flow, one row each, followed by
// the rules the renderer derives (the cluster DNS, the Kubernetes API).
// Each row says which NetworkPolicy lets it through at each end.
func FlowMatrix(m *model.Model) string {
	var b strings.Builder
	b.WriteString("| namespace | default deny | apps |\n|---|---|---|\n")
	for _, ns := range m.Namespaces {
		if len(ns.Apps) == 0 && ns.Policy != model.K3sAddOns && ns.Policy != model.FluxOwn {
			continue
		}
		var apps []string
		for _, app := range ns.Apps {
			apps = append(apps, app.Name)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(ns.Name), denyColumn[ns.Policy], cell(strings.Join(apps, ", ")))
	}

	b.WriteString("\n| from | to | port | pod port | purpose | allowed by |\n|---|---|---|---|---|---|\n")
	for _, l := range m.Links {
		service := strconv.Itoa(l.Port.Port)
		if l.Port.IsRange() {
			service = "range"
		}
		fmt.Fprintf(&b, "| %s | %s | %s %s | %s/%s | %s | %s |\n", cell(endpointLabel(l.From)), cell(endpointLabel(model.Endpoint{PodSet: l.To})),
			cell(l.Port.Name), service, l.Port.PodPorts(), l.Port.Protocol, cell(l.Purpose), cell(enforcement(m, l)))
	}

	if ns := m.RestrictedNamespaces(); len(ns) > 0 {
		var policies []string
		for _, n := range ns {
			policies = append(policies, "allow-dns-"+n)
		}
		fmt.Fprintf(&b, "| every pod of %s | %s (%s) | dns | %s | name resolution (derived) | %s |\n",
			cell(strings.Join(ns, ", ")), cell(m.DNS.Workload.Name), cell(m.DNS.App.Namespace), dnsPorts(m.DNS.Workload), cell(strings.Join(policies, ", ")))
	}
	for _, s := range m.APIClients {
		rule := "not restricted: " + openReason(m, s.App.Namespace)
		switch {
		case s.Workload.HostNetwork:
			rule = "not restricted: host network (the host firewall keeps the API port open to the nodes)"
		case m.Restricted(s.App.Namespace):
			rule = "out " + policyName(s)
		}
		fmt.Fprintf(&b, "| %s (%s) | the Kubernetes API (servers) | api | %d/TCP | a controller or operator (derived from apiServer) | %s |\n",
			cell(s.Ref()), cell(s.App.Namespace), m.Network.APIPort, cell(rule))
	}
	return b.String()
}

// denyColumn says, in the namespace table, whether a namespace has a
// default deny, and why not.
var denyColumn = map[model.Policy]string{
	model.DefaultDeny:     "yes: only the flows below, DNS and (for apiServer workloads) the API",
	model.K3sAddOns:       "no: K3s's own add-ons (CoreDNS, Traefik, metrics-server), which K3s installs and changes with its releases: a mistake would cut DNS for every namespace",
	model.FluxOwn:         "no policy of ours: Flux's own (flux install): ingress from flux-system, 8080 and the webhook receiver only; egress anywhere (git, Helm repositories)",
	model.SystemNamespace: "no: a system namespace",
	model.Open:            "no: an app sets openNamespace",
}

// FlowNotes returns, in Markdown paragraphs, what a reviewer needs to read
// the flow matrix: which namespaces have a default deny and why the others
// have none, the rules derived for every restricted namespace, and how
// traffic from outside the cluster and from the nodes is admitted.
func FlowNotes(m *model.Model) string {
	restricted := m.RestrictedNamespaces()
	var open []string
	for _, ns := range m.Namespaces {
		if ns.Policy == model.Open {
			open = append(open, ns.Name)
		}
	}
	var b strings.Builder
	if len(restricted) == 0 {
		b.WriteString("No namespace has a default deny: every pod may talk to every other.\n\n")
	} else {
		fmt.Fprintf(&b, "Namespaces %s have a default deny in both directions (NetworkPolicy `default-deny-<namespace>`, enforced by the "+
			"kube-router controller K3s embeds). Each flow opens one port (or one range of ports) from its source to its target's "+
			"pods: the port the pod listens on, which is what a NetworkPolicy sees after kube-proxy translated a Service's port.\n\n", code(restricted))
	}
	b.WriteString("Namespace `kube-system` has none: it holds K3s's own add-ons (CoreDNS, which every namespace asks, Traefik, " +
		"metrics-server), which K3s installs from manifests the model does not own and changes with its releases, and a wrong " +
		"policy there would cut DNS for every namespace. A flow to or from its pods (Traefik to a backend) is enforced at its " +
		"other end, when that is in a restricted namespace.")
	if len(open) > 0 {
		fmt.Fprintf(&b, " Namespaces %s have none either, because an app there sets `openNamespace`: the model does not describe all of its pods yet.", code(open))
	}
	b.WriteString("\n\n")
	b.WriteString("Namespace `flux-system` gets no policy of ours either: it keeps the NetworkPolicies that `flux install` " +
		"(run by the bootstrap with its default `--network-policy=true`) ships, `allow-egress`, `allow-scraping` and `allow-webhooks`. " +
		"They isolate every Flux pod: ingress only from flux-system itself, on 8080 (metrics) and, to the notification-controller, " +
		"on 9292 (its webhook receiver); egress anywhere, which source-controller needs to fetch the git repository and the Helm " +
		"charts, and which no flow can say (a flow ends at a workload). NetworkPolicies add up: a default deny of ours there " +
		"would narrow nothing those allow, and would only matter if Flux's own were gone, when it would cut Flux off from git, " +
		"and so from the fix. So the flows that name Flux's controllers describe them, and Flux's own policies enforce them.\n\n")
	if len(restricted) > 0 {
		var servers []string
		for _, n := range m.Servers {
			servers = append(servers, n.IP.String())
		}
		fmt.Fprintf(&b, "Two rules are derived, not declared: every pod of a restricted namespace may ask the cluster DNS (`%s` in `%s`, %s; "+
			"`allow-dns-<namespace>`), and each workload marked `apiServer` may reach the Kubernetes API on the servers (%s, port %d/TCP), "+
			"where kube-proxy sends Service `kubernetes`.\n\n", m.DNS.Workload.Name, m.DNS.App.Namespace, dnsPorts(m.DNS.Workload), strings.Join(servers, ", "), m.Network.APIPort)
	}
	tunnels := fmt.Sprintf("each node's flannel tunnel address (the first address of each /%d of %s)", k3sNodeCIDRMaskSize, m.Network.Pods)
	fmt.Fprintf(&b, "Sources outside the cluster reach pods only through LoadBalancer IPs, and kube-proxy SNATs that traffic to the node "+
		"that took it (externalTrafficPolicy: Cluster). So a rule for an outside source admits its CIDR, every node's IP and %s; "+
		"what the nodes send themselves (the API server calling a webhook, a node's kernel mounting a volume) comes from the same "+
		"addresses, and kube-router admits whatever a pod's own node sends. A pod that reaches a LoadBalancer IP instead of the Service "+
		"looks the same: restricted namespaces stop that with their own egress rules.\n\n", tunnels)
	if ranges := portRanges(m); len(ranges) > 0 {
		fmt.Fprintf(&b, "A port with an `endPort` is a range of pod ports, which a rule opens whole (NetworkPolicy `endPort`): %s.\n\n", strings.Join(ranges, "; "))
	}
	b.WriteString("Pods on the host network (kube-vip, MetalLB's speakers) are outside any pod policy: the host firewall of each node " +
		"(`hosts/<node>/nftables.nft`, applied by the bootstrap) guards them with the rest of the node.\n")
	return b.String()
}

// portRanges lists the model's port ranges that flows open, as
// "longhorn/instance-manager processes 10000-20000/TCP".
func portRanges(m *model.Model) []string {
	var out []string
	for _, l := range m.Links {
		if !l.Port.IsRange() {
			continue
		}
		s := fmt.Sprintf("%s %s %s/%s", l.To.Ref(), l.Port.Name, l.Port.PodPorts(), l.Port.Protocol)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// dnsPorts lists the cluster DNS's pod ports, as 53/UDP, 53/TCP.
func dnsPorts(dns *model.Workload) string {
	var ports []string
	for _, p := range dns.Ports {
		ports = append(ports, fmt.Sprintf("%d/%s", p.TargetPort, p.Protocol))
	}
	return strings.Join(ports, ", ")
}

func code(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "`" + n + "`"
	}
	return strings.Join(quoted, ", ")
}

// enforcement says which policies let a flow through, at each end.
func enforcement(m *model.Model, l model.Link) string {
	var parts []string
	from, to := l.From, l.To
	switch {
	case to.Workload.HostNetwork:
		parts = append(parts, "in: host network, no pod policy (the host firewall)")
	case m.Restricted(to.App.Namespace):
		parts = append(parts, "in "+policyName(to))
	default:
		parts = append(parts, "in: not restricted ("+openReason(m, to.App.Namespace)+")")
	}
	switch {
	case from.External != nil:
		parts = append(parts, "from outside the cluster through a LoadBalancer IP")
	case from.Workload.HostNetwork:
		parts = append(parts, "from the nodes' host network")
	case m.Restricted(from.App.Namespace):
		parts = append(parts, "out "+policyName(from.PodSet))
	default:
		parts = append(parts, "out: not restricted ("+openReason(m, from.App.Namespace)+")")
	}
	return strings.Join(parts, "; ")
}

// openReason says why a namespace has no default deny, or that it has one.
func openReason(m *model.Model, ns string) string {
	switch m.Namespace(ns).Policy {
	case model.FluxOwn:
		return ns + " keeps Flux's own policies"
	case model.K3sAddOns, model.SystemNamespace:
		return ns + " is a system namespace"
	case model.Open:
		return ns + " is open"
	}
	return ns + " has a default deny"
}

// endpointLabel names a flow's end with its namespace, or an external
// source with its CIDR.
func endpointLabel(e model.Endpoint) string {
	if e.External != nil {
		return e.External.Name + " (" + e.External.CIDR.String() + ")"
	}
	label := e.Ref() + " (" + e.App.Namespace + ")"
	if e.Helper {
		label += ", helper"
	}
	return label
}

// cell escapes a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
