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

	"github.com/polylab/polylab-gitops/internal/english"
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
	readmeOverview(&b, c)
	readmeNodes(&b, c)
	readmeNetwork(&b, c)
	readmeApps(&b, c)
	readmeLoadBalancers(&b, c)
	readmePorts(&b, c)
	readmeFlows(&b, c)
	readmeInfrastructure(&b, c)
	return b.Bytes()
}

// cell keeps a table cell on one line and its pipes literal.
func cell(s string) string {
	if s == "" {
		return "–"
	}
	return cellEscapes.Replace(s)
}

var cellEscapes = strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;")

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
	fmt.Fprintf(b, "\n%s built: %s. The first server, %s, started the etcd cluster.\n", english.Plural(len(servers), "server"), model.QuorumFacts(len(servers)), firstName(servers))
	b.WriteString("\n```mermaid\n" + NodeGraph(c) + "```\n")
}

// addr writes an address, or nothing for a node that has none yet.
func addr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
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
				lbs := loadBalancerAddresses(w.LoadBalancers, p.Name)
				row(b, a.Name+"/"+w.Name, a.Namespace, p.Name, fmt.Sprint(p.Port), fmt.Sprint(p.TargetPort), p.Protocol, strings.Join(lbs, ", "))
			}
		}
	}
}

// readmeFlows writes the flow matrix and the notes on which namespaces
// have a default deny and why the others have none (the policy package's,
// beside the NetworkPolicies it renders), then a diagram of each
// namespace of the apps layer.
func readmeFlows(b *bytes.Buffer, c *model.Model) {
	b.WriteString("\n## Flows\n\n")
	b.WriteString("Which namespaces have a default deny, and who talks to whom: the network policies allow these flows and nothing else.\n\n")
	b.WriteString(policy.FlowMatrix(c))
	b.WriteString("\n")
	b.WriteString(policy.FlowNotes(c))
	readmeNamespaces(b, c, layerNamespaces(c, false), "\nEach namespace of the apps, in detail: "+
		"a box per workload and helper that a flow joins (the others are named below it), "+
		"and outside the namespace the apps and sources at the other end of its flows, with the LoadBalancer IPs the outside reaches them on. "+
		"An arrow carries every flow between two boxes, labelled with the port's name and the port the pod listens on. "+
		"The rules derived for every pod (the cluster DNS, and the Kubernetes API for the API clients) are in the table above, not drawn.\n")
}

// readmeInfrastructure writes a diagram of each namespace that holds only
// infrastructure: the platform's internals, which the overview leaves out.
func readmeInfrastructure(b *bytes.Buffer, c *model.Model) {
	namespaces := layerNamespaces(c, true)
	if len(namespaces) == 0 {
		return
	}
	b.WriteString("\n## Infrastructure\n")
	readmeNamespaces(b, c, namespaces, "\nThe platform the apps run on, namespace by namespace, drawn as the apps' namespaces are above: "+
		"what the overview leaves out.\n")
}

// layerNamespaces are the namespaces that hold an app of the apps layer,
// or (infrastructure true) only infrastructure apps, by name.
func layerNamespaces(c *model.Model, infra bool) []*model.Namespace {
	var out []*model.Namespace
	for _, ns := range c.Namespaces {
		if len(ns.Apps) == 0 {
			continue
		}
		if slices.ContainsFunc(ns.Apps, func(a *model.App) bool { return !infrastructure(a) }) != infra {
			out = append(out, ns)
		}
	}
	return out
}

// readmeNamespaces writes the intro and the diagram of each namespace
// that flows join, and names those they do not.
func readmeNamespaces(b *bytes.Buffer, c *model.Model, namespaces []*model.Namespace, intro string) {
	var quiet []string
	idx := indexFlows(c)
	for _, ns := range namespaces {
		graph := namespaceDiagram(c, idx, ns)
		if graph == "" {
			quiet = append(quiet, "`"+ns.Name+"`")
			continue
		}
		b.WriteString(intro)
		intro = ""
		fmt.Fprintf(b, "\n### Namespace %s\n\n```mermaid\n%s```\n", ns.Name, graph)
		if quiet := quietPodSets(idx, ns); len(quiet) > 0 {
			fmt.Fprintf(b, "\nWithout flows of their own (the DNS and the API aside): %s.\n", strings.Join(quiet, ", "))
		}
	}
	if len(quiet) > 0 {
		noun := "namespace"
		if len(quiet) > 1 {
			noun += "s"
		}
		fmt.Fprintf(b, "\nNo flow starts or ends in %s %s.\n", noun, strings.Join(quiet, ", "))
	}
}

// readmeOverview writes the overview diagram and how to read it.
func readmeOverview(b *bytes.Buffer, c *model.Model) {
	graph, keep, namespaces := overviewChart(c)
	b.WriteString("\n## Overview\n\n")
	switch {
	case keep < 0:
		b.WriteString("What the cluster runs and how data moves through it: each box is an app, grouped by namespace, ")
	case keep == namespaces:
		b.WriteString("What the cluster runs and how data moves through it (too many apps for a box each): each box is a namespace of the apps, naming its apps, ")
	default:
		fmt.Fprintf(b, "What the cluster runs and how data moves through it (too many apps for a box each): each box is a namespace of the apps, naming its apps, "+
			"the %d namespaces the flows name first in boxes of their own and the others in one, ", keep)
	}
	b.WriteString("and each arrow carries the flows from one to another, labelled with the ports the pods listen on; ")
	b.WriteString("an arrow from outside the cluster carries the LoadBalancer IPs and ports it reaches. ")
	if slices.ContainsFunc(c.Apps, infrastructure) {
		b.WriteString("Of the infrastructure, only the apps that a flow joins to the outside or to an app are drawn, and the others named in one box. ")
		b.WriteString("Each namespace's workloads and the infrastructure's internals have diagrams of their own below.\n")
	} else {
		b.WriteString("Each namespace's workloads have a diagram of their own below.\n")
	}
	b.WriteString("\n```mermaid\n" + graph.String() + "```\n")
}
