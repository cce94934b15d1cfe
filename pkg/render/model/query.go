package model

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// FlowPort is a flow's target port: a port name, or a number that matches a
// port's Service port or pod port.
type FlowPort struct {
	Name   string
	Number int
}

// UnmarshalJSON accepts a string (a port name) or a number.
func (p *FlowPort) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &p.Name)
	}
	return json.Unmarshal(b, &p.Number)
}

// MarshalJSON writes the port back as it was declared.
func (p FlowPort) MarshalJSON() ([]byte, error) {
	if p.Name != "" {
		return json.Marshal(p.Name)
	}
	return json.Marshal(p.Number)
}

// String is the port as the owner wrote it.
func (p FlowPort) String() string {
	if p.Name != "" {
		return p.Name
	}
	return strconv.Itoa(p.Number)
}

// Matches reports whether the workload port is the one the flow names.
// A range is named by its name or its first port, and opened whole.
func (p FlowPort) Matches(port Port) bool {
	if p.Name != "" {
		return p.Name == port.Name
	}
	return p.Number == port.Port || p.Number == port.TargetPort
}

// SortedApps returns the apps ordered by layer (infrastructure first), then name.
func (c *Cluster) SortedApps() []App {
	names := slices.SortedFunc(maps.Keys(c.Apps), func(a, b string) int {
		if la, lb := layerRank(c.Apps[a].Layer), layerRank(c.Apps[b].Layer); la != lb {
			return strings.Compare(la, lb)
		}
		return strings.Compare(a, b)
	})
	apps := make([]App, len(names))
	for i, name := range names {
		apps[i] = c.Apps[name]
	}
	return apps
}

func layerRank(layer string) string {
	if layer == LayerInfrastructure {
		return "0"
	}
	return "1" + layer
}

// AppsOf returns the apps whose component is the given one, sorted by name.
func (c *Cluster) AppsOf(component string) []App {
	var out []App
	for _, name := range slices.Sorted(maps.Keys(c.Apps)) {
		if a := c.Apps[name]; a.Component == component {
			out = append(out, a)
		}
	}
	return out
}

// ActiveNodes returns the nodes that exist: every node not marked planned.
func (c *Cluster) ActiveNodes() []Node {
	return slices.DeleteFunc(slices.Clone(c.Nodes), func(n Node) bool { return n.Planned })
}

// Servers returns the active servers in model order; the first one initialises etcd.
func (c *Cluster) Servers() []Node {
	return slices.DeleteFunc(c.ActiveNodes(), func(n Node) bool { return n.Role != Server })
}

// GPUNodes returns the active nodes that have at least one GPU.
func (c *Cluster) GPUNodes() []Node {
	return slices.DeleteFunc(c.ActiveNodes(), func(n Node) bool { return n.GPUCount() == 0 })
}

// StorageNodes returns the active nodes that hold volume replicas.
func (c *Cluster) StorageNodes() []Node {
	return slices.DeleteFunc(c.ActiveNodes(), func(n Node) bool { return !n.Storage })
}

// GPUCount is the number of GPUs in the node.
func (n Node) GPUCount() int {
	total := 0
	for _, g := range n.GPUs {
		total += g.Count
	}
	return total
}

// GPUPlacement is what a pod needs to land on a GPU node: the labels every
// GPU node carries and the taints of GPU nodes it must tolerate.
type GPUPlacement struct {
	NodeSelector map[string]string
	Taints       []Taint
}

// GPUPlacement derives the GPU pods' node selector and tolerations from
// the nodes: the labels all active GPU nodes share, and the union of
// their taints. It is empty when the cluster has no active GPU node.
func (c *Cluster) GPUPlacement() GPUPlacement {
	nodes := c.GPUNodes()
	if len(nodes) == 0 {
		return GPUPlacement{}
	}
	shared := maps.Clone(nodes[0].Labels)
	for _, n := range nodes[1:] {
		maps.DeleteFunc(shared, func(k, v string) bool { return n.Labels[k] != v })
	}
	var taints []Taint
	for _, n := range nodes {
		for _, t := range n.Taints {
			if !slices.Contains(taints, t) {
				taints = append(taints, t)
			}
		}
	}
	slices.SortFunc(taints, func(a, b Taint) int { return strings.Compare(a.String(), b.String()) })
	return GPUPlacement{NodeSelector: shared, Taints: taints}
}

// Endpoint is what a flow's end resolves to: a workload of an app, or an
// external source.
type Endpoint struct {
	App      *App
	Workload *Workload
	External *External
	// Helper says the workload is one of the app's helpers.
	Helper bool
}

// String names the endpoint as flows do.
func (e Endpoint) String() string {
	if e.External != nil {
		return e.External.Name
	}
	return e.App.Name + "/" + e.Workload.Name
}

// Resolve finds the endpoint a flow names: "app/workload", "app" when the
// app has a single workload, or an external source's name.
func (c *Cluster) Resolve(ref string) (Endpoint, error) {
	appName, workloadName, hasWorkload := strings.Cut(ref, "/")
	if !hasWorkload {
		for i := range c.Externals {
			if c.Externals[i].Name == ref {
				return Endpoint{External: &c.Externals[i]}, nil
			}
		}
	}
	app, ok := c.Apps[appName]
	if !ok {
		return Endpoint{}, fmt.Errorf("%q is neither an app nor an external source; known: %s", appName, strings.Join(c.endpointNames(), ", "))
	}
	if !hasWorkload {
		if len(app.Workloads) != 1 {
			return Endpoint{}, fmt.Errorf("app %s has %d workloads; name one: %s", app.Name, len(app.Workloads), strings.Join(workloadRefs(app), ", "))
		}
		return Endpoint{App: &app, Workload: &app.Workloads[0]}, nil
	}
	for i := range app.Workloads {
		if app.Workloads[i].Name == workloadName {
			return Endpoint{App: &app, Workload: &app.Workloads[i]}, nil
		}
	}
	for i := range app.Helpers {
		if app.Helpers[i].Name == workloadName {
			return Endpoint{App: &app, Workload: &app.Helpers[i], Helper: true}, nil
		}
	}
	return Endpoint{}, fmt.Errorf("app %s has no workload %q; it has %s", app.Name, workloadName, strings.Join(workloadRefs(app), ", "))
}

func workloadRefs(app App) []string {
	var refs []string
	for _, w := range app.PodSets() {
		refs = append(refs, app.Name+"/"+w.Name)
	}
	return refs
}

// PodSets returns the app's workloads, then its helpers: every set of
// pods a flow may name.
func (a App) PodSets() []Workload {
	return append(slices.Clone(a.Workloads), a.Helpers...)
}

// ClusterDNS returns the workload marked as the cluster's DNS server, if
// the model has one.
func (c *Cluster) ClusterDNS() (Endpoint, bool) {
	for _, app := range c.SortedApps() {
		for i, w := range app.PodSets() {
			if w.ClusterDNS {
				app := app
				ep := Endpoint{App: &app, Helper: i >= len(app.Workloads)}
				if ep.Helper {
					ep.Workload = &app.Helpers[i-len(app.Workloads)]
				} else {
					ep.Workload = &app.Workloads[i]
				}
				return ep, true
			}
		}
	}
	return Endpoint{}, false
}

func (c *Cluster) endpointNames() []string {
	names := slices.Sorted(maps.Keys(c.Apps))
	for _, e := range c.Externals {
		names = append(names, e.Name)
	}
	return names
}

// FindPort returns the target's port that the flow names.
func (w Workload) FindPort(p FlowPort) (Port, bool) {
	for _, port := range w.Ports {
		if p.Matches(port) {
			return port, true
		}
	}
	return Port{}, false
}

// PortNames lists the workload's ports as "name (port)", for messages.
func (w Workload) PortNames() string {
	if len(w.Ports) == 0 {
		return "no ports"
	}
	var s []string
	for _, p := range w.Ports {
		switch {
		case p.IsRange():
			s = append(s, fmt.Sprintf("%s (%s/%s)", p.Name, p.PodPorts(), p.Protocol))
		case p.TargetPort != p.Port:
			s = append(s, fmt.Sprintf("%s (%d -> %d/%s)", p.Name, p.Port, p.TargetPort, p.Protocol))
		default:
			s = append(s, fmt.Sprintf("%s (%d/%s)", p.Name, p.Port, p.Protocol))
		}
	}
	return strings.Join(s, ", ")
}
