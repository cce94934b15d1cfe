// Package docs writes the cluster's README from the model, so that it can
// never disagree with what is rendered beside it: the nodes, the address
// plan, the apps, the LoadBalancer IPs, the ports, the flow matrix and its
// notes, and Mermaid diagrams that GitHub draws in a pull request.
package docs

import (
	"bytes"
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/policy"
)

// README writes the cluster's README, generated from the model so that it
// can never disagree with what is rendered beside it: the nodes, the
// address plan and how full the LoadBalancer pool is, the LoadBalancer
// IPs, the ports, the flow matrix with notes on which namespaces stay
// open, and Mermaid diagrams of the nodes and of the flows between
// namespaces and workloads that GitHub draws in the pull request.
func README(c *model.Model) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Cluster %s\n\n", c.Name)
	fmt.Fprintf(&b, "Flux applies this folder to the cluster. Everything in it, this file included, is rendered\n")
	fmt.Fprintf(&b, "from the model in `cue/clusters/%s`: change the model, then run `go run ./cmd/render -cluster %s`.\n", c.Name, c.Name)
	fmt.Fprintf(&b, "The per-node inputs of the bootstrap are in `hosts/`, which Flux never applies.\n")
	readmeNodes(&b, c)
	readmeNetwork(&b, c)
	readmeApps(&b, c)
	readmeLoadBalancers(&b, c)
	readmePorts(&b, c)
	readmeFlows(&b, c)
	return b.Bytes()
}

// cell keeps a table cell on one line and its pipes literal.
func cell(s string) string {
	if s == "" {
		return "–"
	}
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;").Replace(s)
}

func row(b *bytes.Buffer, cells ...string) {
	for i := range cells {
		cells[i] = cell(cells[i])
	}
	fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
}

func header(b *bytes.Buffer, names ...string) {
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(names, " | "), strings.Repeat("---|", len(names)))
}

func readmeNodes(b *bytes.Buffer, c *model.Model) {
	b.WriteString("\n## Nodes\n\n")
	header(b, "node", "role", "IP", "arch", "hardware", "GPU", "volumes", "taints")
	for _, n := range c.Nodes {
		role := string(n.Role)
		if n.Role == model.Server {
			role += " (etcd)"
		}
		if n.Planned {
			role += ", planned"
		}
		var gpus, taints []string
		for _, g := range n.GPUs {
			gpus = append(gpus, fmt.Sprintf("%d× %s %s (%d GiB)", g.Count, g.Vendor, g.Model, g.MemoryGiB))
		}
		for _, t := range n.Taints {
			taints = append(taints, "`"+t.String()+"`")
		}
		volumes := "no"
		if n.Storage {
			volumes = "yes"
		}
		row(b, n.Name, role, addr(n.IP), n.Arch, hardware(n.Hardware), strings.Join(gpus, ", "), volumes, strings.Join(taints, ", "))
	}
	servers := c.Servers
	fmt.Fprintf(b, "\n%s built: %s. The first server, %s, started the etcd cluster.\n", plural(len(servers), "server"), model.QuorumFacts(len(servers)), firstName(servers))
	b.WriteString("\n```mermaid\nflowchart TB\n")
	fmt.Fprintf(b, "  vip([\"API VIP %s\"])\n", c.Network.APIVIP)
	for _, role := range []model.Role{model.Server, model.Agent} {
		nodes := slices.DeleteFunc(slices.Clone(c.Nodes), func(n model.Node) bool { return n.Role != role })
		if len(nodes) == 0 {
			continue
		}
		fmt.Fprintf(b, "  subgraph %s[\"%ss\"]\n", mermaidID("role", string(role)), role)
		for _, n := range nodes {
			label := n.Name
			if n.IP.IsValid() {
				label += "<br/>" + n.IP.String()
			}
			for _, g := range n.GPUs {
				label += fmt.Sprintf("<br/>%d× %s", g.Count, g.Model)
			}
			class := ""
			if n.Planned {
				label += "<br/>(planned)"
				class = ":::planned"
			}
			fmt.Fprintf(b, "    %s[\"%s\"]%s\n", mermaidID("n", n.Name), mermaidText(label), class)
		}
		b.WriteString("  end\n")
	}
	for _, n := range servers {
		fmt.Fprintf(b, "  vip --> %s\n", mermaidID("n", n.Name))
	}
	b.WriteString("  classDef planned stroke-dasharray: 5 5\n```\n")
}

// addr writes an address, or nothing for a node that has none yet.
func addr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// plural writes a count and its noun: 1 server, 3 servers.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func firstName(nodes []*model.Node) string {
	if len(nodes) == 0 {
		return "none"
	}
	return nodes[0].Name
}

func hardware(h *model.Hardware) string {
	if h == nil {
		return ""
	}
	var parts []string
	for _, p := range []struct {
		n      int
		format string
	}{{h.Cores, "%d cores"}, {h.MemoryGiB, "%d GiB RAM"}, {h.DiskGiB, "%d GiB disk"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf(p.format, p.n))
		}
	}
	if h.CPU != "" {
		parts = append([]string{h.CPU}, parts...)
	}
	s := strings.Join(parts, ", ")
	switch {
	case h.Model == "":
		return s
	case s == "":
		return h.Model
	}
	return h.Model + ": " + s
}

func readmeNetwork(b *bytes.Buffer, c *model.Model) {
	n := c.Network
	b.WriteString("\n## Network\n\n")
	header(b, "", "")
	row(b, "LAN", n.LAN.String())
	row(b, "pods", n.Pods.String())
	row(b, "Services", n.Services.String())
	vip := n.APIVIP.String()
	if len(c.AppsOf("kube-vip")) > 0 {
		vip += ", held by kube-vip on one of the servers"
	}
	row(b, "API VIP", vip)
	used, size, free := poolUsage(c)
	row(b, "LoadBalancer pool", fmt.Sprintf("%s – %s: %d addresses, %d used, %d free", n.LoadBalancerPool.First, n.LoadBalancerPool.Last, size, used, size-used))
	row(b, "free in the pool", strings.Join(free, ", "))
	row(b, "flannel backend", n.FlannelBackend)
	row(b, "SSH port", fmt.Sprint(n.SSHPort))
	for _, e := range c.Externals {
		row(b, "external "+e.Name, e.CIDR.String()+": "+e.Description)
	}
}

// poolUsage counts the pool's addresses and those LoadBalancers take, and
// lists the free ones as ranges.
func poolUsage(c *model.Model) (used, size int, free []string) {
	first, last := c.Network.LoadBalancerPool.First, c.Network.LoadBalancerPool.Last
	taken := map[netip.Addr]bool{}
	for _, lb := range loadBalancers(c) {
		taken[lb.IP] = true
	}
	var start netip.Addr
	flush := func(end netip.Addr) {
		if !start.IsValid() {
			return
		}
		if start == end {
			free = append(free, start.String())
		} else {
			free = append(free, start.String()+" – "+end.String())
		}
		start = netip.Addr{}
	}
	prev := first
	for a := first; a.IsValid() && !last.Less(a); a = a.Next() {
		size++
		if taken[a] {
			used++
			flush(prev)
		} else if !start.IsValid() {
			start = a
		}
		prev = a
	}
	flush(last)
	return used, size, free
}

func readmeApps(b *bytes.Buffer, c *model.Model) {
	b.WriteString("\n## Apps\n\n")
	header(b, "app", "namespace", "layer", "component", "what it is")
	for _, a := range c.Apps {
		row(b, a.Name, a.Namespace, a.Layer, a.Component, a.Description)
	}
}

// lbRow is one LoadBalancer of the model with whose it is.
type lbRow struct {
	model.LoadBalancer
	app      *model.App
	workload model.Workload
}

// loadBalancers lists the model's LoadBalancers by IP.
func loadBalancers(c *model.Model) []lbRow {
	var out []lbRow
	for _, a := range c.Apps {
		for _, w := range a.Workloads {
			for _, lb := range w.LoadBalancers {
				out = append(out, lbRow{lb, a, w})
			}
		}
	}
	slices.SortStableFunc(out, func(x, y lbRow) int { return x.IP.Compare(y.IP) })
	return out
}

func readmeLoadBalancers(b *bytes.Buffer, c *model.Model) {
	b.WriteString("\n## LoadBalancer IPs\n\n")
	lbs := loadBalancers(c)
	if len(lbs) == 0 {
		b.WriteString("None: nothing is reachable from the LAN on a LoadBalancer IP.\n")
		return
	}
	header(b, "IP", "app / workload", "namespace", "ports (outside → pod)")
	for _, lb := range lbs {
		var ports []string
		for _, lp := range lb.Ports {
			if p, ok := lb.workload.FindPort(model.FlowPort{Name: lp.Name}); ok {
				ports = append(ports, fmt.Sprintf("%s %d → %d/%s", lp.Name, lp.Port, p.TargetPort, p.Protocol))
			}
		}
		row(b, lb.IP.String(), lb.app.Name+"/"+lb.workload.Name, lb.app.Namespace, strings.Join(ports, ", "))
	}
}

func readmePorts(b *bytes.Buffer, c *model.Model) {
	b.WriteString("\n## Ports\n\n### Between nodes (host firewall)\n\n")
	header(b, "port", "protocol", "purpose", "listening on", "reachable from")
	nodePorts := slices.Clone(c.NodePorts)
	slices.SortStableFunc(nodePorts, func(x, y model.NodePort) int {
		return cmp.Or(cmp.Compare(x.Port, y.Port), cmp.Compare(x.Protocol, y.Protocol))
	})
	for _, p := range nodePorts {
		var on []string
		for _, r := range p.On {
			on = append(on, string(r)+"s")
		}
		row(b, fmt.Sprint(p.Port), p.Protocol, p.Purpose, strings.Join(on, ", "), strings.Join(p.From, ", "))
	}
	b.WriteString("\n### Workloads\n\n")
	header(b, "app / workload", "namespace", "port", "Service port", "pod port", "protocol", "LoadBalancer")
	for _, a := range c.Apps {
		for _, w := range a.Workloads {
			for _, p := range w.Ports {
				var lbs []string
				for _, lb := range w.LoadBalancers {
					for _, lp := range lb.Ports {
						if lp.Name == p.Name {
							lbs = append(lbs, fmt.Sprintf("%s:%d", lb.IP, lp.Port))
						}
					}
				}
				row(b, a.Name+"/"+w.Name, a.Namespace, p.Name, fmt.Sprint(p.Port), fmt.Sprint(p.TargetPort), p.Protocol, strings.Join(lbs, ", "))
			}
		}
	}
}

// readmeFlows writes the flow matrix and the notes on which namespaces
// have a default deny and why the others have none (the policy package's,
// beside the NetworkPolicies it renders), and the flow graph.
func readmeFlows(b *bytes.Buffer, c *model.Model) {
	b.WriteString("\n## Flows\n\n")
	b.WriteString("Which namespaces have a default deny, and who talks to whom: the network policies allow these flows and nothing else.\n\n")
	b.WriteString(policy.FlowMatrix(c))
	b.WriteString("\n")
	b.WriteString(policy.FlowNotes(c))
	b.WriteString("\n```mermaid\n" + FlowGraph(c) + "```\n")
}

// mermaidID makes a node id from a name: letters, digits and
// underscores, a slash becoming two (names hold none of their own).
func mermaidID(prefix, name string) string {
	return prefix + "_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ReplaceAll(name, "/", "__"))
}

// mermaidText escapes a label's quotes for Mermaid.
func mermaidText(s string) string { return strings.ReplaceAll(s, `"`, "#quot;") }
