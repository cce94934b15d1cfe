package docs

import (
	"fmt"
	"slices"
	"strings"

	"github.com/polylab/polylab-gitops/internal/mermaid"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// The most a diagram draws before it folds: past these, the overview
// draws one box per namespace instead of one per app, and a namespace's
// diagram one box per app instead of one per workload. A person reads
// about twenty boxes and thirty arrows on one screen; a namespace's detail
// may hold a little more, as it is read on its own.
const (
	overviewBoxes    = 20
	overviewArrows   = 30
	namespaceBoxes   = 25
	namespaceArrows  = 40
	wrapLabelAt      = 28 // characters of a listing box's line
	infrastructureID = "layer_infrastructure"
)

// NodeGraph is a Mermaid flowchart of the nodes, without the fence: the
// servers and the agents, the API VIP in front of the servers, and the
// agents joining through it.
func NodeGraph(m *model.Model) string {
	c := mermaid.NewFlowchart("TB")
	vip := c.Box(nil, "vip", mermaid.Text("API VIP "+m.Network.APIVIP.String()), mermaid.Stadium).ID
	groups := map[model.Role]*mermaid.Group{}
	for _, role := range []model.Role{model.Server, model.Agent} {
		groups[role] = c.Group(mermaid.ID("role", string(role)), string(role)+"s")
	}
	for _, n := range m.Nodes {
		label := n.Name
		if n.IP.IsValid() {
			label += "<br/>" + n.IP.String()
		}
		for _, g := range n.GPUs {
			label += fmt.Sprintf("<br/>%d× %s", g.Count, mermaid.Text(g.Model))
		}
		b := c.Box(groups[n.Role], mermaid.ID("n", n.Name), label, mermaid.Rect)
		if n.Planned {
			b.Label += "<br/>(planned)"
			b.Class = "planned"
		}
	}
	for _, n := range m.Servers {
		c.Arrow(vip, mermaid.ID("n", n.Name), "")
	}
	if slices.ContainsFunc(m.Nodes, func(n model.Node) bool { return n.Role == model.Agent }) {
		a := c.Arrow(groups[model.Agent].ID, vip, "join through")
		a.Dashed = true
	}
	c.ClassDef("planned stroke-dasharray: 5 5")
	return c.String()
}

// Overview is a Mermaid flowchart of the cluster's data paths, without
// the fence, sized to be read on one screen: one box per app of the apps
// layer, grouped by namespace, naming (for an app of several workloads)
// those its drawn flows join and the GPU nodes it runs on; the sources
// outside the cluster, with the
// LoadBalancer addresses they reach on the arrows; and of the
// infrastructure only the apps that a flow joins to the outside or to an
// app (an ingress, a storage UI), the rest named in one box. Arrows are
// merged per pair of apps and carry the pod ports of their flows. Flows
// inside an app, between infrastructure apps, to the cluster DNS and to
// the Kubernetes API are left to the namespaces' diagrams and the flow
// table.
//
// Past overviewBoxes boxes or overviewArrows arrows, the apps of each
// namespace fold into one box; and past them still, the namespaces the
// flows name last fold into one box, as many as it takes.
func Overview(m *model.Model) string {
	c, _, _ := overviewChart(m)
	return c.String()
}

// overviewChart is the overview, how it folds the apps (-1 not at all,
// else into one box per namespace for that many namespaces and one box
// for the others), and how many namespaces the apps have.
func overviewChart(m *model.Model) (*mermaid.Flowchart, int, int) {
	links := overviewLinks(m)
	namespaces := appNamespaces(m, links)
	// Each namespace kept is a box: no more than the budget can fit.
	c, keep := fold(min(len(namespaces), overviewBoxes), overviewBoxes, overviewArrows, func(keep int) *mermaid.Flowchart {
		return overview(m, links, namespaces, keep)
	})
	return c, keep, len(namespaces)
}

// fold draws a diagram whole (keep -1) and, while it is past boxes or
// arrows, again with the first keep namespaces in boxes of their own and
// the others in one, keep going from most down to 0. It returns the first
// drawing that fits, or the last, and its keep; a whole diagram that is
// nil (nothing to draw) is returned as it is.
func fold(most, boxes, arrows int, draw func(keep int) *mermaid.Flowchart) (*mermaid.Flowchart, int) {
	c := draw(-1)
	if c == nil {
		return nil, -1
	}
	for keep := most; !c.Fits(boxes, arrows) && keep >= 0; keep-- {
		c = draw(keep)
		if c.Fits(boxes, arrows) || keep == 0 {
			return c, keep
		}
	}
	return c, -1
}

func infrastructure(a *model.App) bool { return a.Layer == model.LayerInfrastructure }

// overviewLinks are the links the overview draws: those joining an app to
// another app or to the outside, where either end is outside the
// infrastructure.
func overviewLinks(m *model.Model) []model.Link {
	var out []model.Link
	for _, l := range m.Links {
		if l.From.External == nil && (l.From.App == l.To.App || infrastructure(l.From.App) && infrastructure(l.To.App)) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// appNamespaces are the namespaces of the apps layer, in the order the
// flows first name them, then the others by name.
func appNamespaces(m *model.Model, links []model.Link) []string {
	var out []string
	seen := map[string]bool{}
	add := func(a *model.App) {
		if a != nil && !infrastructure(a) && !seen[a.Namespace] {
			seen[a.Namespace] = true
			out = append(out, a.Namespace)
		}
	}
	for _, l := range links {
		add(l.From.App)
		add(l.To.App)
	}
	for _, a := range m.Apps {
		add(a)
	}
	return out
}

// overview draws the overview with one box per app (keep -1), or per
// namespace for the first keep namespaces and one for the others.
func overview(m *model.Model, links []model.Link, namespaces []string, keep int) *mermaid.Flowchart {
	c := mermaid.NewFlowchart("LR")
	// The workloads of each app that the drawn flows join: its parts on
	// the paths, named in its box; an app that has none is not shown.
	boundary := map[*model.App][]string{}
	touch := func(s model.PodSet) {
		if !slices.Contains(boundary[s.App], s.Workload.Name) {
			boundary[s.App] = append(boundary[s.App], s.Workload.Name)
		}
	}
	for _, l := range links {
		if l.From.External != nil {
			c.Box(nil, externalID(l.From.External.Name), externalLabel(l.From.External), mermaid.Stadium)
		} else {
			touch(l.From.PodSet)
		}
		touch(l.To)
	}
	infra := c.Group(infrastructureID, "infrastructure")
	var rest []string
	for _, a := range m.Apps {
		switch {
		case !infrastructure(a):
		case len(boundary[a]) > 0:
			c.Box(infra, appID(a.Name), a.Name, mermaid.Rect)
		default:
			rest = append(rest, a.Name)
		}
	}
	if len(rest) > 0 {
		c.Box(infra, "infrastructure_rest", wrap(rest, ", "), mermaid.Rect)
	}
	kept := map[string]bool{}
	for i := range max(0, min(keep, len(namespaces))) {
		kept[namespaces[i]] = true
	}
	boxOf := func(a *model.App) string {
		switch {
		case infrastructure(a) || keep < 0:
			return appID(a.Name)
		case kept[a.Namespace]:
			return namespaceID(a.Namespace)
		}
		return othersID
	}
	var folded []string
	for i, name := range namespaces {
		var apps []string
		for _, a := range m.Namespace(name).Apps {
			if !infrastructure(a) {
				apps = append(apps, a.Name)
			}
		}
		switch {
		case keep < 0:
			g := c.Group(namespaceID(name), "namespace "+name)
			for _, app := range apps {
				a := m.App(app)
				label := a.Name
				if parts := boundary[a]; len(a.Workloads) > 1 && len(parts) > 0 {
					label += "<br/><small>" + wrap(parts, " · ") + "</small>"
				}
				if where := placement(m, a.PodSets()...); where != "" {
					label += "<br/><i>" + where + "</i>"
				}
				c.Box(g, appID(a.Name), label, mermaid.Rect)
			}
		case i < keep:
			c.Box(nil, namespaceID(name), "namespace "+name+"<br/><i>"+wrap(apps, ", ")+"</i>", mermaid.Rect)
		default:
			folded = append(folded, name)
		}
	}
	if len(folded) > 0 {
		othersBox(c, folded)
	}
	for _, l := range links {
		to := boxOf(l.To.App)
		if l.From.External != nil {
			from := externalID(l.From.External.Name)
			for _, addr := range entryAddresses(l) {
				c.Arrow(from, to, addr).Sep = "<br/>"
			}
			continue
		}
		if from := boxOf(l.From.App); from != to {
			c.Arrow(from, to, podPorts(l.Port))
		}
	}
	return c
}

// namespaceDiagram is a Mermaid flowchart of one namespace's flows, without
// the fence, or "" when no flow starts or ends there: a box per workload
// and helper that a flow joins (placement, helpers, the host network, API
// clients and what it sends to its peers noted), and outside the
// namespace a box per app or source at the other end of its flows, with
// the flows from outside the cluster that reach those apps, so that a
// path in from the LAN shows whole. One arrow per pair of boxes carries
// the ports of its flows. The rules derived for every pod (the cluster
// DNS, the Kubernetes API) are in the flow table, not drawn. Past
// namespaceBoxes boxes or namespaceArrows arrows, the namespace's pods
// fold into one box per app, and the apps outside into one box per
// namespace; and past them still, the namespaces outside that its flows
// name last into one box. idx is indexFlows(m).
func namespaceDiagram(m *model.Model, idx *flowIndex, ns *model.Namespace) string {
	f := namespaceFlowsOf(idx, ns)
	c, _ := fold(min(len(m.Namespaces), namespaceBoxes), namespaceBoxes, namespaceArrows, func(keep int) *mermaid.Flowchart {
		return namespaceGraph(m, idx, ns, f, keep)
	})
	if c == nil {
		return ""
	}
	return c.String()
}

// flowIndex finds the links a namespace's diagram draws without going
// through all of them for each namespace.
type flowIndex struct {
	// byNamespace are the links that start or end in a namespace.
	byNamespace map[string][]model.Link
	// entries are the links from outside the cluster, by target pod set.
	entries map[string][]model.Link
}

func indexFlows(m *model.Model) *flowIndex {
	idx := &flowIndex{byNamespace: map[string][]model.Link{}, entries: map[string][]model.Link{}}
	for _, l := range m.Links {
		to := l.To.App.Namespace
		idx.byNamespace[to] = append(idx.byNamespace[to], l)
		if l.From.External != nil {
			idx.entries[l.To.Key()] = append(idx.entries[l.To.Key()], l)
		} else if from := l.From.App.Namespace; from != to {
			idx.byNamespace[from] = append(idx.byNamespace[from], l)
		}
	}
	return idx
}

// quietPodSets are the namespace's workloads and helpers that no flow
// joins, which its diagram leaves out.
func quietPodSets(idx *flowIndex, ns *model.Namespace) []string {
	used := joined(idx.byNamespace[ns.Name])
	var out []string
	for _, a := range ns.Apps {
		for _, s := range a.PodSets() {
			if !used[s.Key()] {
				out = append(out, s.Ref())
			}
		}
	}
	return out
}

// joined are the pod sets (by key) and sources at the ends of links.
func joined(links []model.Link) map[string]bool {
	used := map[string]bool{}
	for _, l := range links {
		used[l.From.String()] = true
		used[l.To.Key()] = true
	}
	return used
}

// namespaceFlows is what a namespace's diagram draws however it folds.
type namespaceFlows struct {
	// links start or end in the namespace; used are their ends.
	links []model.Link
	used  map[string]bool
	// peers are what each workload sends to its own kind (peers on other
	// nodes), a note in its box: a loop takes more room than it says.
	peers map[string][]string
	// outside are the namespaces at the other end of its flows, in the
	// order they first come.
	outside []string
}

func namespaceFlowsOf(idx *flowIndex, ns *model.Namespace) namespaceFlows {
	links := idx.byNamespace[ns.Name]
	f := namespaceFlows{links: links, used: joined(links), peers: map[string][]string{}}
	for _, l := range links {
		if l.From.External == nil && l.From.Key() == l.To.Key() {
			if label := mermaid.Text(l.Port.Name) + " " + podPorts(l.Port); !slices.Contains(f.peers[l.To.Key()], label) {
				f.peers[l.To.Key()] = append(f.peers[l.To.Key()], label)
			}
		}
	}
	for _, l := range links {
		for _, e := range []model.Endpoint{l.From, {PodSet: l.To}} {
			if e.External == nil && e.App.Namespace != ns.Name && !slices.Contains(f.outside, e.App.Namespace) {
				f.outside = append(f.outside, e.App.Namespace)
			}
		}
	}
	return f
}

// namespaceGraph draws a namespace's diagram with a box per workload
// (keep -1), or per app inside and per namespace outside, for the first
// keep namespaces outside and one box for the others.
func namespaceGraph(m *model.Model, idx *flowIndex, ns *model.Namespace, f namespaceFlows, keep int) *mermaid.Flowchart {
	byApp := keep >= 0
	links, used, peers, outside := f.links, f.used, f.peers, f.outside
	if len(links) == 0 {
		return nil
	}
	inside := func(e model.Endpoint) bool { return e.External == nil && e.App.Namespace == ns.Name }
	// Top to bottom: a namespace's paths are longer than they are wide.
	c := mermaid.NewFlowchart("TB")
	title := "namespace " + ns.Name
	if len(ns.Apps) == 1 {
		title += " · app " + ns.Apps[0].Name
	}
	g := c.Group(namespaceID(ns.Name), mermaid.Text(title+" · "+policyState(ns.Policy)))
	for _, a := range ns.Apps {
		for _, s := range a.PodSets() {
			if !used[s.Key()] {
				continue
			}
			if byApp {
				label := a.Name
				if where := placement(m, a.PodSets()...); where != "" {
					label += "<br/><i>" + where + "</i>"
				}
				c.Box(g, appID(a.Name), label, mermaid.Rect)
				continue
			}
			label := podSetLabel(m, s, len(ns.Apps) == 1)
			if p := peers[s.Key()]; len(p) > 0 {
				label += "<br/><i>to its peers: " + strings.Join(p, ", ") + "</i>"
			}
			c.Box(g, podSetID(s), label, mermaid.Rect)
		}
	}
	boxOf := func(e model.Endpoint) string {
		switch {
		case e.External != nil:
			return c.Box(nil, externalID(e.External.Name), externalLabel(e.External), mermaid.Stadium).ID
		case !inside(e) && byApp:
			if i := slices.Index(outside, e.App.Namespace); i >= keep {
				return othersBox(c, outside[keep:])
			}
			return c.Box(nil, namespaceID(e.App.Namespace), "namespace "+e.App.Namespace, mermaid.Rect).ID
		case !inside(e):
			return c.Box(nil, appID(e.App.Name), e.App.Name+"<br/><i>"+e.App.Namespace+"</i>", mermaid.Rect).ID
		case byApp:
			return appID(e.App.Name)
		}
		return podSetID(e.PodSet)
	}
	arrow := func(l model.Link) {
		from, to := boxOf(l.From), boxOf(model.Endpoint{PodSet: l.To})
		switch {
		case l.From.External != nil:
			for _, addr := range entryAddresses(l) {
				c.Arrow(from, to, addr).Sep = "<br/>"
			}
		case from != to || byApp:
			c.Arrow(from, to, mermaid.Text(l.Port.Name)+" "+podPorts(l.Port))
		}
	}
	for _, l := range links {
		arrow(l)
	}
	// The way in from outside the cluster through the pods outside that
	// send here (an ingress).
	for _, l := range links {
		if l.From.External != nil || inside(l.From) {
			continue
		}
		for _, in := range idx.entries[l.From.Key()] {
			arrow(in)
		}
	}
	return c
}

// othersID is the box of the namespaces folded together.
const othersID = "ns_others"

// othersBox adds the box of the namespaces folded together, naming them,
// and returns its ID.
func othersBox(c *mermaid.Flowchart, namespaces []string) string {
	return c.Box(nil, othersID, fmt.Sprintf("%d more namespaces<br/><i>%s</i>", len(namespaces), wrap(few(namespaces), ", ")), mermaid.Rect).ID
}

// policyState says, in a namespace's title, whether it has a default deny.
func policyState(p model.Policy) string {
	switch p {
	case model.DefaultDeny:
		return "default deny"
	case model.FluxOwn:
		return "Flux's own policies"
	}
	return "open"
}

// podSetLabel names a workload or helper (by its name alone when the
// diagram's title names its app), with notes on where it runs and what it
// may do besides its flows.
func podSetLabel(m *model.Model, s model.PodSet, short bool) string {
	var notes []string
	if s.Helper {
		notes = append(notes, "helper")
	}
	if s.Workload.HostNetwork {
		notes = append(notes, "host network")
	}
	if where := placement(m, s); where != "" {
		notes = append(notes, where)
	}
	if s.Workload.APIServer {
		notes = append(notes, "API client")
	}
	label := mermaid.Text(s.Ref())
	if short {
		label = mermaid.Text(s.Workload.Name)
	}
	if len(notes) > 0 {
		label += "<br/><i>" + strings.Join(notes, " · ") + "</i>"
	}
	return label
}

// placement says where pods that ask for a place run: on the GPU nodes,
// named, with their GPUs, or on a node; "" when they may run anywhere.
func placement(m *model.Model, sets ...model.PodSet) string {
	var where []string
	for _, s := range sets {
		p := s.Workload.Placement
		switch {
		case p.GPUs > 0:
			var nodes []string
			for _, n := range m.GPUNodes {
				var gpus []string
				for _, g := range n.GPUs {
					gpus = append(gpus, g.Model)
				}
				// A line each: Mermaid wraps a label's lines at 200 px.
				nodes = append(nodes, mermaid.Text(n.Name)+"<br/>("+mermaid.Text(strings.Join(gpus, ", "))+")")
			}
			text := "on GPU node<br/>" + strings.Join(nodes, " or ")
			if len(nodes) > 1 {
				text = "on a GPU node:<br/>" + strings.Join(nodes, "<br/>")
			}
			if !slices.Contains(where, text) {
				where = append(where, text)
			}
		case p.Node != "":
			if text := "on node " + mermaid.Text(p.Node); !slices.Contains(where, text) {
				where = append(where, text)
			}
		}
	}
	return strings.Join(where, "; ")
}

// entryAddresses are the addresses a flow from outside the cluster
// reaches: each LoadBalancer IP and port of the target that serves the
// flow's port, or the pod port when none does.
func entryAddresses(l model.Link) []string {
	out := loadBalancerAddresses(l.To.Workload.LoadBalancers, l.Port.Name)
	if len(out) == 0 {
		out = append(out, podPorts(l.Port))
	}
	return out
}

// loadBalancerAddresses are the IP:port of each LoadBalancer port that
// serves the named port.
func loadBalancerAddresses(lbs []model.LoadBalancer, port string) []string {
	var out []string
	for _, lb := range lbs {
		for _, p := range lb.Ports {
			if p.Name == port {
				out = append(out, fmt.Sprintf("%s:%d", lb.IP, p.Port))
			}
		}
	}
	return out
}

// podPorts writes a port as the pod listens on it: 8080, 10000-20000,
// 53/UDP (TCP is not said).
func podPorts(p model.Port) string {
	s := p.PodPorts()
	if p.Protocol != "" && p.Protocol != "TCP" {
		s += "/" + p.Protocol
	}
	return s
}

func externalLabel(e *model.External) string {
	return mermaid.Text(e.Name) + "<br/>" + e.CIDR.String()
}

// few keeps a list that a box names short: its first few, then how many
// more.
func few(names []string) []string {
	const most = 8
	if len(names) <= most {
		return names
	}
	return append(slices.Clone(names[:most-1]), fmt.Sprintf("and %d more", len(names)-most+1))
}

// wrap joins names with sep into lines of about wrapLabelAt characters.
func wrap(names []string, sep string) string {
	var lines []string
	line := ""
	for _, n := range names {
		n = mermaid.Text(n)
		switch {
		case line == "":
			line = n
		case len(line)+len(sep)+len(n) > wrapLabelAt:
			lines = append(lines, line+strings.TrimRight(sep, " "))
			line = n
		default:
			line += sep + n
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "<br/>")
}

func externalID(name string) string  { return mermaid.ID("ext", name) }
func namespaceID(ns string) string   { return mermaid.ID("ns", ns) }
func appID(name string) string       { return mermaid.ID("app", name) }
func podSetID(s model.PodSet) string { return mermaid.ID("w", s.Key()) }
