package component

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// fluxNamespace is where the bootstrap installs Flux.
const fluxNamespace = "flux-system"

// The flow documentation of the cluster README (review.README), which a
// pull request shows: who may talk to whom, as the NetworkPolicies render
// it (FlowMatrix), what a reader needs to read it (FlowNotes), and as a
// picture (FlowGraph).

// FlowMatrix returns two Markdown tables: the namespaces (whether each has
// a default deny, and why not), then every flow, one row each, followed by
// the rules the renderer derives (the cluster DNS, the Kubernetes API).
// Each row says which NetworkPolicy lets it through at each end.
func FlowMatrix(c *model.Cluster) string {
	restricted := map[string]bool{}
	for _, ns := range RestrictedNamespaces(c) {
		restricted[ns] = true
	}
	var b strings.Builder
	b.WriteString("| namespace | default deny | apps |\n|---|---|---|\n")
	apps := map[string][]string{metav1.NamespaceSystem: nil, fluxNamespace: nil}
	for _, app := range c.SortedApps() {
		apps[app.Namespace] = append(apps[app.Namespace], app.Name)
	}
	for _, ns := range slices.Sorted(maps.Keys(apps)) {
		deny := "yes: only the flows below, DNS and (for apiServer workloads) the API"
		switch {
		case ns == metav1.NamespaceSystem:
			deny = "no: K3s's own add-ons (CoreDNS, Traefik, metrics-server), which K3s installs and changes with its releases: a mistake would cut DNS for every namespace"
		case ns == fluxNamespace:
			deny = "no policy of ours: Flux's own (flux install): ingress from flux-system, 8080 and the webhook receiver only; egress anywhere (git, Helm repositories)"
		case slices.Contains(systemNamespaces, ns):
			deny = "no: a system namespace"
		case !restricted[ns]:
			deny = "no: an app sets openNamespace"
		}
		slices.Sort(apps[ns])
		fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(ns), deny, cell(strings.Join(apps[ns], ", ")))
	}

	b.WriteString("\n| from | to | port | pod port | purpose | allowed by |\n|---|---|---|---|---|---|\n")
	for _, f := range c.Flows {
		from, to, port, problem := resolveFlow(c, f)
		if problem != "" {
			fmt.Fprintf(&b, "| %s | %s | %s | ? | %s | %s |\n", cell(f.From), cell(f.To), cell(f.Port.String()), cell(f.Purpose), problem)
			continue
		}
		service := strconv.Itoa(port.Port)
		if port.IsRange() {
			service = "range"
		}
		fmt.Fprintf(&b, "| %s | %s | %s %s | %s/%s | %s | %s |\n", cell(endpointLabel(c, from)), cell(endpointLabel(c, to)),
			cell(port.Name), service, port.PodPorts(), port.Protocol, cell(f.Purpose), cell(enforcement(restricted, from, to)))
	}

	dnsNS, dns := DNSServer(c)
	if ns := RestrictedNamespaces(c); len(ns) > 0 {
		var policies []string
		for _, n := range ns {
			policies = append(policies, "allow-dns-"+n)
		}
		fmt.Fprintf(&b, "| every pod of %s | %s (%s) | dns | %s | name resolution (derived) | %s |\n",
			cell(strings.Join(ns, ", ")), cell(dns.Name), cell(dnsNS), dnsPorts(dns), cell(strings.Join(policies, ", ")))
	}
	for _, s := range apiClients(c) {
		rule := "not restricted: " + openReason(restricted, s.app.Namespace)
		switch {
		case s.w.HostNetwork:
			rule = "not restricted: host network (the host firewall keeps the API port open to the nodes)"
		case restricted[s.app.Namespace]:
			rule = "out " + s.policyName()
		}
		fmt.Fprintf(&b, "| %s (%s) | the Kubernetes API (servers) | api | %d/TCP | a controller or operator (derived from apiServer) | %s |\n",
			cell(s.ref()), cell(s.app.Namespace), c.Network.APIPort, cell(rule))
	}
	return b.String()
}

// FlowNotes returns, in Markdown paragraphs, what a reviewer needs to read
// the flow matrix: which namespaces have a default deny and why the others
// have none, the rules derived for every restricted namespace, and how
// traffic from outside the cluster and from the nodes is admitted.
func FlowNotes(c *model.Cluster) string {
	restricted := RestrictedNamespaces(c)
	var open []string
	for _, app := range c.SortedApps() {
		if app.OpenNamespace && !slices.Contains(open, app.Namespace) {
			open = append(open, app.Namespace)
		}
	}
	slices.Sort(open)
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
		dnsNS, dns := DNSServer(c)
		var servers []string
		for _, n := range c.Servers() {
			servers = append(servers, n.IP)
		}
		fmt.Fprintf(&b, "Two rules are derived, not declared: every pod of a restricted namespace may ask the cluster DNS (`%s` in `%s`, %s; "+
			"`allow-dns-<namespace>`), and each workload marked `apiServer` may reach the Kubernetes API on the servers (%s, port %d/TCP), "+
			"where kube-proxy sends Service `kubernetes`.\n\n", dns.Name, dnsNS, dnsPorts(dns), strings.Join(servers, ", "), c.Network.APIPort)
	}
	tunnels := "each node's flannel tunnel address (the first address of each node's /24 of the pod range)"
	if pods, err := netip.ParsePrefix(c.Network.Pods); err == nil {
		tunnels = fmt.Sprintf("each node's flannel tunnel address (the first address of each /%d of %s)", k3sNodeCIDRMaskSize, pods.Masked())
	}
	fmt.Fprintf(&b, "Sources outside the cluster reach pods only through LoadBalancer IPs, and kube-proxy SNATs that traffic to the node "+
		"that took it (externalTrafficPolicy: Cluster). So a rule for an outside source admits its CIDR, every node's IP and %s; "+
		"what the nodes send themselves (the API server calling a webhook, a node's kernel mounting a volume) comes from the same "+
		"addresses, and kube-router admits whatever a pod's own node sends. A pod that reaches a LoadBalancer IP instead of the Service "+
		"looks the same: restricted namespaces stop that with their own egress rules.\n\n", tunnels)
	if ranges := portRanges(c); len(ranges) > 0 {
		fmt.Fprintf(&b, "A port with an `endPort` is a range of pod ports, which a rule opens whole (NetworkPolicy `endPort`): %s.\n\n", strings.Join(ranges, "; "))
	}
	b.WriteString("Pods on the host network (kube-vip, MetalLB's speakers) are outside any pod policy: the host firewall of each node " +
		"(`hosts/<node>/nftables.nft`, applied by the bootstrap) guards them with the rest of the node.\n")
	return b.String()
}

// portRanges lists the model's port ranges that flows open, as
// "longhorn/instance-manager processes 10000-20000/TCP".
func portRanges(c *model.Cluster) []string {
	var out []string
	for _, f := range c.Flows {
		_, to, port, problem := resolveFlow(c, f)
		if problem != "" || !port.IsRange() {
			continue
		}
		s := fmt.Sprintf("%s %s %s/%s", podSet{*to.App, *to.Workload}.ref(), port.Name, port.PodPorts(), port.Protocol)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// resolveFlow resolves a flow's ends and the target's port it uses; when
// it cannot, problem says why (the model's validation refuses such flows).
func resolveFlow(c *model.Cluster, f model.Flow) (from, to model.Endpoint, port model.Port, problem string) {
	from, errFrom := c.Resolve(f.From)
	to, errTo := c.Resolve(f.To)
	if errFrom != nil || errTo != nil || to.Workload == nil {
		return from, to, port, "the model does not resolve this flow"
	}
	port, ok := to.Workload.FindPort(f.Port)
	if !ok {
		return from, to, port, "the target does not expose this port"
	}
	return from, to, port, ""
}

// apiClients are the pod sets marked apiServer, by app.
func apiClients(c *model.Cluster) []podSet {
	var out []podSet
	for _, app := range c.SortedApps() {
		for _, w := range app.PodSets() {
			if w.APIServer {
				out = append(out, podSet{app, w})
			}
		}
	}
	return out
}

// dnsPorts lists the cluster DNS's pod ports, as 53/UDP, 53/TCP.
func dnsPorts(dns model.Workload) string {
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
func enforcement(restricted map[string]bool, from, to model.Endpoint) string {
	var parts []string
	target := podSet{*to.App, *to.Workload}
	switch {
	case to.Workload.HostNetwork:
		parts = append(parts, "in: host network, no pod policy (the host firewall)")
	case restricted[to.App.Namespace]:
		parts = append(parts, "in "+target.policyName())
	default:
		parts = append(parts, "in: not restricted ("+openReason(restricted, to.App.Namespace)+")")
	}
	switch {
	case from.External != nil:
		parts = append(parts, "from outside the cluster through a LoadBalancer IP")
	case from.Workload.HostNetwork:
		parts = append(parts, "from the nodes' host network")
	case restricted[from.App.Namespace]:
		parts = append(parts, "out "+podSet{*from.App, *from.Workload}.policyName())
	default:
		parts = append(parts, "out: not restricted ("+openReason(restricted, from.App.Namespace)+")")
	}
	return strings.Join(parts, "; ")
}

func openReason(restricted map[string]bool, ns string) string {
	if ns == fluxNamespace {
		return ns + " keeps Flux's own policies"
	}
	if slices.Contains(systemNamespaces, ns) {
		return ns + " is a system namespace"
	}
	if !restricted[ns] {
		return ns + " is open"
	}
	return ns + " has a default deny"
}

// endpointLabel names a flow's end with its namespace, or an external
// source with its CIDR.
func endpointLabel(c *model.Cluster, e model.Endpoint) string {
	if e.External != nil {
		return e.External.Name + " (" + e.External.CIDR + ")"
	}
	label := podSet{*e.App, *e.Workload}.ref() + " (" + e.App.Namespace + ")"
	if e.Helper {
		label += ", helper"
	}
	return label
}

// cell escapes a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// FlowGraph returns a Mermaid flowchart of the cluster's flows, without
// the ```mermaid fence: one box per namespace (saying whether it has a
// default deny) holding its workloads and helpers, the outside sources,
// one solid arrow per flow labelled with the pod's port, and dashed
// arrows for the derived rules (each restricted namespace to the cluster
// DNS, each apiServer workload to the Kubernetes API).
func FlowGraph(c *model.Cluster) string {
	restricted := map[string]bool{}
	for _, ns := range RestrictedNamespaces(c) {
		restricted[ns] = true
	}
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, e := range c.Externals {
		fmt.Fprintf(&b, "  %s([\"%s<br/>%s\"])\n", externalID(e.Name), label(e.Name), label(e.CIDR))
	}
	byNS := map[string][]model.App{}
	for _, app := range c.SortedApps() {
		byNS[app.Namespace] = append(byNS[app.Namespace], app)
	}
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		state := "default deny"
		switch {
		case ns == fluxNamespace:
			state = "Flux's own policies"
		case !restricted[ns]:
			state = "open"
		}
		fmt.Fprintf(&b, "  subgraph %s[\"%s · %s\"]\n", namespaceID(ns), label(ns), state)
		apps := byNS[ns]
		slices.SortFunc(apps, func(a, b model.App) int { return strings.Compare(a.Name, b.Name) })
		for _, app := range apps {
			for i, w := range app.PodSets() {
				s := podSet{app, w}
				text := label(s.ref())
				switch {
				case w.HostNetwork:
					text += "<br/><i>host network</i>"
				case i >= len(app.Workloads):
					text += "<br/><i>helper</i>"
				}
				fmt.Fprintf(&b, "    %s[\"%s\"]\n", podSetID(s), text)
			}
		}
		b.WriteString("  end\n")
	}
	for _, f := range c.Flows {
		from, to, port, problem := resolveFlow(c, f)
		if problem != "" {
			continue
		}
		src := externalID(f.From)
		if from.External == nil {
			src = podSetID(podSet{*from.App, *from.Workload})
		}
		fmt.Fprintf(&b, "  %s -->|\"%s %s/%s\"| %s\n", src, label(port.Name), port.PodPorts(), port.Protocol, podSetID(podSet{*to.App, *to.Workload}))
	}
	dnsNS, dns := DNSServer(c)
	dnsID := ""
	if ep, ok := c.ClusterDNS(); ok {
		dnsID = podSetID(podSet{*ep.App, *ep.Workload})
	} else if len(restricted) > 0 {
		dnsID = "dns"
		fmt.Fprintf(&b, "  %s[\"%s (%s)\"]\n", dnsID, label(dns.Name), label(dnsNS))
	}
	for _, ns := range RestrictedNamespaces(c) {
		fmt.Fprintf(&b, "  %s -.->|\"dns\"| %s\n", namespaceID(ns), dnsID)
	}
	clients := apiClients(c)
	if len(clients) > 0 {
		fmt.Fprintf(&b, "  kubernetes_api[(\"Kubernetes API<br/>servers :%d\")]\n", c.Network.APIPort)
	}
	for _, s := range clients {
		fmt.Fprintf(&b, "  %s -.-> kubernetes_api\n", podSetID(s))
	}
	return b.String()
}

func externalID(name string) string { return "ext_" + mermaidID(name) }
func namespaceID(ns string) string  { return "ns_" + mermaidID(ns) }
func podSetID(s podSet) string      { return "w_" + mermaidID(s.app.Name) + "__" + mermaidID(s.w.Name) }

// mermaidID keeps letters and digits, and writes everything else as _.
func mermaidID(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// label escapes text inside a quoted Mermaid label.
func label(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}
