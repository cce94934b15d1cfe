package docs

import (
	"fmt"
	"strings"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// FlowGraph returns a Mermaid flowchart of the cluster's flows, without
// the ```mermaid fence: one box per namespace (saying whether it has a
// default deny) holding its workloads and helpers, the outside sources,
// one solid arrow per flow labelled with the pod's port, and dashed
// arrows for the derived rules (each restricted namespace to the cluster
// DNS, each apiServer workload to the Kubernetes API).
func FlowGraph(m *model.Model) string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, e := range m.Externals {
		fmt.Fprintf(&b, "  %s([\"%s<br/>%s\"])\n", externalID(e.Name), label(e.Name), label(e.CIDR.String()))
	}
	for _, ns := range m.Namespaces {
		if len(ns.Apps) == 0 {
			continue
		}
		state := "default deny"
		switch ns.Policy {
		case model.FluxOwn:
			state = "Flux's own policies"
		case model.K3sAddOns, model.SystemNamespace, model.Open:
			state = "open"
		}
		fmt.Fprintf(&b, "  subgraph %s[\"%s · %s\"]\n", namespaceID(ns.Name), label(ns.Name), state)
		for _, app := range ns.Apps {
			for _, s := range app.PodSets() {
				text := label(s.Ref())
				switch {
				case s.Workload.HostNetwork:
					text += "<br/><i>host network</i>"
				case s.Helper:
					text += "<br/><i>helper</i>"
				}
				fmt.Fprintf(&b, "    %s[\"%s\"]\n", podSetID(s), text)
			}
		}
		b.WriteString("  end\n")
	}
	for _, l := range m.Links {
		src := externalID(l.Flow.From)
		if l.From.External == nil {
			src = podSetID(l.From.PodSet)
		}
		fmt.Fprintf(&b, "  %s -->|\"%s %s/%s\"| %s\n", src, label(l.Port.Name), l.Port.PodPorts(), l.Port.Protocol, podSetID(l.To))
	}
	restricted := m.RestrictedNamespaces()
	dnsID := ""
	if m.DNSDeclared {
		dnsID = podSetID(m.DNS)
	} else if len(restricted) > 0 {
		dnsID = "dns"
		fmt.Fprintf(&b, "  %s[\"%s (%s)\"]\n", dnsID, label(m.DNS.Workload.Name), label(m.DNS.App.Namespace))
	}
	for _, ns := range restricted {
		fmt.Fprintf(&b, "  %s -.->|\"dns\"| %s\n", namespaceID(ns), dnsID)
	}
	if len(m.APIClients) > 0 {
		fmt.Fprintf(&b, "  kubernetes_api[(\"Kubernetes API<br/>servers :%d\")]\n", m.Network.APIPort)
	}
	for _, s := range m.APIClients {
		fmt.Fprintf(&b, "  %s -.-> kubernetes_api\n", podSetID(s))
	}
	return b.String()
}

func externalID(name string) string  { return mermaidID("ext", name) }
func namespaceID(ns string) string   { return mermaidID("ns", ns) }
func podSetID(s model.PodSet) string { return mermaidID("w", s.Key()) }

// label escapes text inside a quoted Mermaid label.
func label(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}
