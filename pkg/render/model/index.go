package model

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Model is a valid cluster and what every stage of the render derives
// from it, worked out once by Validate: the apps in render order, the
// flows resolved to the pods and ports they join, each namespace's
// policy, the cluster DNS, the API clients and the nodes by kind. The
// components, the network policies, the host firewall and the README all
// read these, so they cannot disagree, and none resolves a name again.
// A Model is read-only.
type Model struct {
	*Cluster

	// Apps are every app, infrastructure first, then by name.
	Apps []*App
	// Links are the flows, resolved, in the order they are declared.
	Links []Link
	// Namespaces are the namespaces that hold apps, and the system
	// namespaces, by name.
	Namespaces []*Namespace
	// DNS is the cluster DNS, which every restricted namespace may ask:
	// the workload marked clusterDNS, or K3s's CoreDNS when none is
	// (DNSDeclared false).
	DNS         PodSet
	DNSDeclared bool
	// APIClients are the pod sets marked apiServer, by app.
	APIClients []PodSet
	// Built are the nodes that exist (not planned), in model order;
	// Servers, GPUNodes and StorageNodes are those of them that run the
	// control plane, have a GPU, and hold volume replicas.
	Built, Servers, GPUNodes, StorageNodes []*Node
	// GPU is how a pod lands on the GPU nodes.
	GPU GPUPlacement
	// Source finds where values are written, for the positions of the
	// problems later stages find; nil for a model built in Go.
	Source Locator

	apps       map[string]*App
	namespaces map[string]*Namespace
}

// App returns the app of that name, or nil.
func (m *Model) App(name string) *App { return m.apps[name] }

// Namespace returns the namespace of that name, or nil.
func (m *Model) Namespace(name string) *Namespace { return m.namespaces[name] }

// Restricted reports whether the namespace gets a default deny.
func (m *Model) Restricted(namespace string) bool {
	ns := m.namespaces[namespace]
	return ns != nil && ns.Policy == DefaultDeny
}

// RestrictedNamespaces are the names of the namespaces with a default deny.
func (m *Model) RestrictedNamespaces() []string {
	var out []string
	for _, ns := range m.Namespaces {
		if ns.Policy == DefaultDeny {
			out = append(out, ns.Name)
		}
	}
	return out
}

// AppsOf returns the apps of a component, by name.
func (m *Model) AppsOf(component string) []*App {
	var out []*App
	for _, app := range m.apps {
		if app.Component == component {
			out = append(out, app)
		}
	}
	slices.SortFunc(out, func(a, b *App) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// PodSet is a set of pods a flow can name: a workload or a helper of an app.
type PodSet struct {
	App      *App
	Workload *Workload
	// Helper says the pods are one of the app's helpers, for which
	// nothing is rendered.
	Helper bool
	// Index is the workload's or helper's place in its list.
	Index int
}

// Ref names the pod set as flows do: app/workload, or the app alone when
// it is the app's only workload and has the app's name. Resolve takes the
// app alone only for an app with one workload, so a Ref is always a name
// a flow can use.
func (s PodSet) Ref() string {
	if s.Workload.Name == s.App.Name && !s.Helper && len(s.App.Workloads) == 1 {
		return s.App.Name
	}
	return s.Key()
}

// Key names the pod set uniquely: app/workload.
func (s PodSet) Key() string { return s.App.Name + "/" + s.Workload.Name }

// Path is where the pod set is declared: apps.<app>.workloads.<i>, or helpers.
func (s PodSet) Path(sub ...any) Path {
	list := "workloads"
	if s.Helper {
		list = "helpers"
	}
	return s.App.Path(list, s.Index).With(sub...)
}

// Endpoint is where a flow starts: a pod set, or an external source.
type Endpoint struct {
	PodSet
	External *External
}

// String names the endpoint as flows do.
func (e Endpoint) String() string {
	if e.External != nil {
		return e.External.Name
	}
	return e.Key()
}

// Link is a flow resolved: its source, its target's pods and the port of
// the target that it uses.
type Link struct {
	Flow
	// Index is the flow's place in the model's flows.
	Index int
	From  Endpoint
	To    PodSet
	Port  Port
}

// Path is where the flow is declared: flows.<i>.
func (l Link) Path(sub ...any) Path { return Path{"flows", l.Index}.With(sub...) }

// Namespace is a namespace that holds apps, and whether it gets a default
// deny.
type Namespace struct {
	Name string
	// Apps are the namespace's apps, by name.
	Apps   []*App
	Policy Policy
}

// System says the namespace is one of SystemNamespaces, which exist
// before Flux applies anything: the index classifies them as such.
func (ns *Namespace) System() bool {
	switch ns.Policy {
	case K3sAddOns, FluxOwn, SystemNamespace:
		return true
	}
	return false
}

// Policy says whether a namespace gets a default deny, and why not.
type Policy int

// The policies of a namespace.
const (
	// DefaultDeny: only the flows, DNS and the API for apiServer workloads.
	DefaultDeny Policy = iota
	// K3sAddOns: kube-system holds K3s's own add-ons, which K3s installs
	// and changes with its releases: no policy of ours.
	K3sAddOns
	// FluxOwn: flux-system keeps the NetworkPolicies Flux installs.
	FluxOwn
	// SystemNamespace: another namespace Kubernetes creates.
	SystemNamespace
	// Open: an app of the namespace sets openNamespace.
	Open
)

// Namespaces that exist before Flux applies anything: Kubernetes and K3s
// create them, and the bootstrap creates Flux's. Nothing renders them and
// pruning one would break the cluster.
const (
	KubeSystem    = "kube-system"
	FluxNamespace = "flux-system"
)

// SystemNamespaces are every namespace that exists before Flux applies anything.
var SystemNamespaces = []string{"default", KubeSystem, "kube-public", "kube-node-lease", FluxNamespace}

// GPUPlacement is what a pod needs to land on a GPU node: the labels every
// GPU node carries and the taints of GPU nodes it must tolerate.
type GPUPlacement struct {
	NodeSelector map[string]string
	Taints       []Taint
}

// K3sCoreDNS is K3s's CoreDNS as K3s ships it (k3s-io/k3s
// manifests/coredns.yaml, Service kube-dns in kube-system): the cluster
// DNS of a model that marks no workload clusterDNS.
var K3sCoreDNS = Workload{
	Name:     "coredns",
	Selector: map[string]string{"k8s-app": "kube-dns"},
	Ports: []Port{
		{Name: "dns", Port: 53, TargetPort: 53, Protocol: "UDP"},
		{Name: "dns-tcp", Port: 53, TargetPort: 53, Protocol: "TCP"},
	},
}

// newModel indexes a cluster: everything but the links, which flows()
// resolves while it checks them.
func newModel(c *Cluster) *Model {
	m := &Model{Cluster: c, apps: map[string]*App{}, namespaces: map[string]*Namespace{}}
	for _, name := range slices.Collect(maps.Keys(c.AppsByName)) {
		app := c.AppsByName[name]
		m.apps[name] = &app
	}
	m.Apps = slices.SortedFunc(maps.Values(m.apps), func(a, b *App) int {
		return cmp.Or(cmp.Compare(layerRank(a.Layer), layerRank(b.Layer)), strings.Compare(a.Name, b.Name))
	})
	m.namespaceIndex()
	m.DNS = PodSet{App: &App{Name: "k3s", Namespace: KubeSystem}, Workload: &K3sCoreDNS}
	for _, app := range m.Apps {
		for _, s := range app.PodSets() {
			if s.Workload.ClusterDNS && !m.DNSDeclared {
				m.DNS, m.DNSDeclared = s, true
			}
			if s.Workload.APIServer {
				m.APIClients = append(m.APIClients, s)
			}
		}
	}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if n.Planned {
			continue
		}
		m.Built = append(m.Built, n)
		if n.Role == Server {
			m.Servers = append(m.Servers, n)
		}
		if n.GPUCount() > 0 {
			m.GPUNodes = append(m.GPUNodes, n)
		}
		if n.Storage {
			m.StorageNodes = append(m.StorageNodes, n)
		}
	}
	m.GPU = gpuPlacement(m.GPUNodes)
	return m
}

func layerRank(layer string) string {
	if layer == LayerInfrastructure {
		return "0"
	}
	return "1" + layer
}

// namespaceIndex classifies every namespace that holds an app, and the
// system ones, as the network policies treat them.
func (m *Model) namespaceIndex() {
	for _, name := range SystemNamespaces {
		m.namespace(name)
	}
	for _, app := range m.Apps {
		ns := m.namespace(app.Namespace)
		ns.Apps = append(ns.Apps, app)
		if app.OpenNamespace && ns.Policy == DefaultDeny {
			ns.Policy = Open
		}
	}
	for _, ns := range m.namespaces {
		slices.SortFunc(ns.Apps, func(a, b *App) int { return strings.Compare(a.Name, b.Name) })
	}
	m.Namespaces = slices.SortedFunc(maps.Values(m.namespaces), func(a, b *Namespace) int { return strings.Compare(a.Name, b.Name) })
}

func (m *Model) namespace(name string) *Namespace {
	if ns, ok := m.namespaces[name]; ok {
		return ns
	}
	ns := &Namespace{Name: name}
	switch {
	case name == KubeSystem:
		ns.Policy = K3sAddOns
	case name == FluxNamespace:
		ns.Policy = FluxOwn
	case slices.Contains(SystemNamespaces, name):
		ns.Policy = SystemNamespace
	}
	m.namespaces[name] = ns
	return ns
}

// gpuPlacement derives the GPU pods' node selector and tolerations from
// the GPU nodes: the labels they all share, and the union of their taints.
func gpuPlacement(nodes []*Node) GPUPlacement {
	if len(nodes) == 0 {
		return GPUPlacement{}
	}
	shared := maps.Clone(nodes[0].Labels)
	for _, n := range nodes[1:] {
		maps.DeleteFunc(shared, func(k, v string) bool { return n.Labels[k] != v })
	}
	return GPUPlacement{NodeSelector: shared, Taints: Taints(nodes)}
}

// Taints are the taints of the nodes, each once, in a stable order.
func Taints(nodes []*Node) []Taint {
	var out []Taint
	for _, n := range nodes {
		for _, t := range n.Taints {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	slices.SortFunc(out, func(a, b Taint) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// PodSets returns the app's workloads, then its helpers: every set of
// pods a flow may name.
func (a *App) PodSets() []PodSet {
	out := a.WorkloadSets()
	for i := range a.Helpers {
		out = append(out, PodSet{App: a, Workload: &a.Helpers[i], Helper: true, Index: i})
	}
	return out
}

// WorkloadSets returns the pod sets of the app's workloads, without its
// helpers.
func (a *App) WorkloadSets() []PodSet {
	var out []PodSet
	for i := range a.Workloads {
		out = append(out, PodSet{App: a, Workload: &a.Workloads[i], Index: i})
	}
	return out
}

// Workload returns the app's workload of that name and its pod set.
func (a *App) Workload(name string) (PodSet, bool) {
	for i := range a.Workloads {
		if a.Workloads[i].Name == name {
			return PodSet{App: a, Workload: &a.Workloads[i], Index: i}, true
		}
	}
	return PodSet{}, false
}

// FindPort returns the workload's port that the flow names.
func (w Workload) FindPort(p FlowPort) (Port, bool) {
	for _, port := range w.Ports {
		if p.Matches(port) {
			return port, true
		}
	}
	return Port{}, false
}

// PortNamed returns the workload's port of that name and its index.
func (w Workload) PortNamed(name string) (Port, int, bool) {
	for i, port := range w.Ports {
		if port.Name == name {
			return port, i, true
		}
	}
	return Port{}, -1, false
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
			s = append(s, p.Name+" ("+p.PodPorts()+"/"+p.Protocol+")")
		case p.TargetPort != p.Port:
			s = append(s, p.Name+" ("+strconv.Itoa(p.Port)+" -> "+strconv.Itoa(p.TargetPort)+"/"+p.Protocol+")")
		default:
			s = append(s, p.Name+" ("+strconv.Itoa(p.Port)+"/"+p.Protocol+")")
		}
	}
	return strings.Join(s, ", ")
}
