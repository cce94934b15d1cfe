package charts

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// The network policies over the pods as the charts make them: the tree's
// NetworkPolicies (and any a chart renders) are evaluated by cyclonus's
// policy engine for every pair of pods and every port a pod listens on,
// the pods labelled as their templates label them. A declared flow must
// be allowed, anything else into or out of a restricted namespace denied.
// The model's own test does the same over the model's selectors; this
// finds what only the real labels show: a chart pod that a selector
// misses or catches, a pod the model does not describe, a chart's own
// NetworkPolicy that opens more than the flows.

// peer is a source or destination of the connectivity matrix.
type peer struct {
	name string
	// ns and labels are set for a pod.
	ns     string
	labels map[string]string
	ip     string
	// sets are the model's pod sets the pod belongs to; sources the
	// flow sources an address stands for (externals, host-network pod sets).
	sets    []model.PodSet
	sources []string
	listens []listen
	// modelOnly marks a pod the tree does not render (created at run
	// time, or by K3s or the bootstrap): its labels are the model's.
	modelOnly bool
}

func (p *peer) keys() []string {
	if p.ns == "" {
		return p.sources
	}
	var out []string
	for _, s := range p.sets {
		out = append(out, s.Key())
	}
	return out
}

func (p *peer) traffic() *matcher.TrafficPeer {
	tp := &matcher.TrafficPeer{IP: p.ip}
	if p.ns != "" {
		tp.Internal = &matcher.InternalPeer{Namespace: p.ns, NamespaceLabels: map[string]string{corev1.LabelMetadataName: p.ns}, PodLabels: p.labels}
	}
	return tp
}

// dest is a destination: a peer and a port.
type dest struct {
	peer     *peer
	port     int
	protocol corev1.Protocol
	api      bool // a server's API port
}

func (c *checker) policies() error {
	m := c.Model
	var policies []*networkingv1.NetworkPolicy
	for _, o := range c.Built.Objects {
		if np, ok := o.Typed.(*networkingv1.NetworkPolicy); ok {
			policies = append(policies, np)
		}
	}
	for _, r := range c.Rendered {
		for _, o := range r.Objects {
			if o.GetKind() == "NetworkPolicy" && o.GroupVersionKind().Group == "networking.k8s.io" {
				var np networkingv1.NetworkPolicy
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &np); err != nil {
					return fmt.Errorf("%s: %w", r.Install, err)
				}
				policies = append(policies, &np)
			}
		}
	}
	// cyclonus's simplifier combines port ranges by appending to shared
	// slices (see pkg/render/policy's test); the plain engine is exact.
	engine := matcher.BuildNetworkPolicies(false, policies)

	setsOf := func(ns string, labels map[string]string) []model.PodSet {
		var out []model.PodSet
		for _, app := range m.Apps {
			if app.Namespace != ns {
				continue
			}
			for _, s := range app.PodSets() {
				if len(s.Workload.Selector) > 0 && !s.Workload.HostNetwork && matches(s.Workload.Selector, labels) {
					out = append(out, s)
				}
			}
		}
		return out
	}

	// The pods: every template the charts and the tree render, then the
	// pod sets of the model that nothing renders, as the model (or the
	// unit that says which pods its software creates) labels them.
	var pods []*peer
	for _, p := range c.pods {
		if p.HostNetwork {
			continue
		}
		pe := &peer{name: p.String(), ns: p.Namespace, labels: p.Labels, listens: p.listens()}
		pe.sets = setsOf(p.Namespace, p.Labels)
		if len(pe.sets) == 0 && m.Restricted(p.Namespace) && p.Release != nil {
			at := model.Path{"apps"}
			if app := c.appOf[p.Unit]; app != nil {
				at = app.Path("workloads")
			}
			c.report.add(model.Problemf(at, "%s runs pods that no workload or helper of the model selects (labels %s): namespace %s has a default deny, so they may reach the cluster DNS and nothing else, and nothing may reach them; describe them as a workload or helper with the flows they need, or turn off what renders them",
				p.Describe(), labelString(p.Labels), p.Namespace))
		}
		pods = append(pods, pe)
	}
	rendered := slices.Clone(pods)
	var hostNetwork []string
	for _, app := range m.Apps {
		for _, s := range app.PodSets() {
			w := s.Workload
			if w.HostNetwork {
				hostNetwork = append(hostNetwork, s.Key())
				continue
			}
			if len(w.Selector) == 0 || slices.ContainsFunc(rendered, func(p *peer) bool { return p.ns == app.Namespace && matches(w.Selector, p.labels) }) {
				continue
			}
			labels := maps.Clone(w.Selector)
			for _, u := range c.Units {
				for _, pl := range u.Pods {
					if c.charted[u.Name] == 0 && pl.Namespace == app.Namespace && matches(w.Selector, pl.Labels) {
						labels = maps.Clone(pl.Labels)
					}
				}
			}
			pe := &peer{name: s.Key() + " (" + cmp.Or(w.CreatedBy, "not rendered") + ")", ns: app.Namespace, labels: labels, modelOnly: true}
			if w.CreatedBy != "" {
				pe.name = s.Key() + " (created by " + w.CreatedBy + ")"
			}
			pe.sets = setsOf(app.Namespace, labels)
			for _, port := range w.Ports {
				proto := corev1.Protocol(port.ProtocolOrTCP())
				pe.listens = append(pe.listens, listen{Port: port.TargetPort, Protocol: proto, How: "the model"})
				if port.IsRange() {
					pe.listens = append(pe.listens, listen{Port: port.EndPort, Protocol: proto, How: "the model"},
						listen{Port: (port.TargetPort + port.EndPort + 1) / 2, Protocol: proto, How: "the model"})
				}
			}
			pods = append(pods, pe)
		}
	}
	slices.Sort(hostNetwork)
	podNet := m.Network.Pods.Masked().Addr().As4()
	for i, p := range pods {
		p.ip = netip.AddrFrom4([4]byte{podNet[0], podNet[1], byte(i/200 + 1), byte(10 + i%200)}).String()
	}

	// Sources that are addresses: a client of each external source, each
	// node and two flannel tunnel addresses, which stand for the outside
	// (SNATed through a LoadBalancer IP) and the host-network pods.
	nodeSourced := slices.Clone(hostNetwork)
	for _, e := range m.Externals {
		nodeSourced = append(nodeSourced, e.Name)
	}
	var addrs []*peer
	for _, e := range m.Externals {
		a := m.ClientOf(e)
		addrs = append(addrs, &peer{name: e.Name + " client " + a.String(), ip: a.String(), sources: []string{e.Name}})
	}
	for _, n := range m.Built {
		addrs = append(addrs, &peer{name: "node " + n.Name, ip: n.IP.String(), sources: nodeSourced})
	}
	addrs = append(addrs, &peer{name: "a node's tunnel address", ip: netip.AddrFrom4([4]byte{podNet[0], podNet[1], 0, 0}).String(), sources: nodeSourced})
	sources := append(slices.Clone(pods), addrs...)

	var dests []dest
	for _, p := range pods {
		for _, l := range p.listens {
			dests = append(dests, dest{peer: p, port: l.Port, protocol: l.Protocol})
		}
	}
	for _, s := range m.Servers {
		dests = append(dests, dest{peer: &peer{name: "the API on " + s.Name, ip: s.IP.String()}, port: m.Network.APIPort, protocol: corev1.ProtocolTCP, api: true})
	}
	dests = append(dests, dest{peer: &peer{name: "an address outside the cluster", ip: "203.0.113.10"}, port: 443, protocol: corev1.ProtocolTCP})

	declared := func(from, to []string, port int, proto corev1.Protocol) []model.Link {
		var out []model.Link
		for _, l := range m.Links {
			if slices.Contains(from, l.From.String()) && slices.Contains(to, l.To.Key()) &&
				l.Port.Covers(port) && corev1.Protocol(l.Port.ProtocolOrTCP()) == proto {
				out = append(out, l)
			}
		}
		return out
	}
	isDNS := func(p *peer) bool {
		return p.ns == m.DNS.App.Namespace && matches(m.DNS.Workload.Selector, p.labels)
	}
	want := func(src *peer, d dest) bool {
		in := true
		if d.peer.ns != "" && m.Restricted(d.peer.ns) {
			in = len(declared(src.keys(), d.peer.keys(), d.port, d.protocol)) > 0
		}
		out := true
		if src.ns != "" && m.Restricted(src.ns) {
			switch {
			case d.peer.ns != "" && isDNS(d.peer):
				out = slices.ContainsFunc(m.DNS.Workload.Ports, func(p model.Port) bool {
					return p.TargetPort == d.port && corev1.Protocol(p.ProtocolOrTCP()) == d.protocol
				}) || len(declared(src.keys(), d.peer.keys(), d.port, d.protocol)) > 0
			case d.api:
				out = slices.ContainsFunc(src.sets, func(s model.PodSet) bool { return s.Workload.APIServer })
			case d.peer.ns != "":
				out = len(declared(src.keys(), d.peer.keys(), d.port, d.protocol)) > 0
			default:
				out = false
			}
		}
		return in && out
	}

	type flowDenied struct {
		link  model.Link
		pairs []string
	}
	denied := map[int]*flowDenied{}
	// Undeclared pairs the policies allow, by destination port and the
	// policies that allow them, with their sources.
	type allowedKey struct{ at, dest, by string }
	allowed := map[allowedKey][]string{}
	var order []allowedKey
	atOf := map[string]model.Path{}
	for _, src := range sources {
		for _, d := range dests {
			if src.modelOnly && d.peer.modelOnly {
				continue // the model's own test checks these pairs
			}
			c.report.Checked.Pairs++
			traffic := &matcher.Traffic{Source: src.traffic(), Destination: d.peer.traffic(), ResolvedPort: d.port, Protocol: d.protocol}
			result := engine.IsTrafficAllowed(traffic)
			got, w := result.IsAllowed(), want(src, d)
			pair := fmt.Sprintf("%s -> %s %d/%s", src.name, d.peer.name, d.port, d.protocol)
			switch {
			case got == w:
			case !got:
				links := declared(src.keys(), d.peer.keys(), d.port, d.protocol)
				if len(links) == 0 {
					// The DNS or the API, which every such pod may reach.
					c.report.add(model.Problemf(model.Path{"flows"}, "%s: the network policies deny it, and the model lets it through (the cluster DNS or the Kubernetes API)", pair))
					continue
				}
				for _, l := range links {
					f := denied[l.Index]
					if f == nil {
						f = &flowDenied{link: l}
						denied[l.Index] = f
					}
					f.pairs = append(f.pairs, pair)
				}
			default:
				at := model.Path{"flows"}
				if len(d.peer.sets) > 0 {
					at = d.peer.sets[0].Path()
				} else if len(src.sets) > 0 {
					at = src.sets[0].Path()
				}
				var by []string
				for _, dir := range []*matcher.DirectionResult{result.Ingress, result.Egress} {
					if dir == nil {
						continue
					}
					for _, t := range dir.AllowingTargets {
						for _, np := range t.SourceRules {
							if n := np.Namespace + "/" + np.Name; !slices.Contains(by, n) {
								by = append(by, n)
							}
						}
					}
				}
				k := allowedKey{at.String(), fmt.Sprintf("%s %d/%s", d.peer.name, d.port, d.protocol), strings.Join(by, ", ")}
				if _, ok := allowed[k]; !ok {
					order = append(order, k)
					atOf[k.at] = at
				}
				allowed[k] = append(allowed[k], src.name)
			}
		}
	}
	for _, i := range slices.Sorted(maps.Keys(denied)) {
		f := denied[i]
		pairs := f.pairs
		more := ""
		if len(pairs) > 3 {
			more = fmt.Sprintf(" and %d more", len(pairs)-3)
			pairs = pairs[:3]
		}
		c.report.add(model.Problemf(f.link.Path(), "flow %s -> %s %s: the network policies deny it between the pods as the charts label them: %s%s; the selectors must match the labels the pods carry",
			f.link.From, f.link.To.Key(), f.link.Flow.Port, strings.Join(pairs, "; "), more))
	}
	for _, k := range order {
		srcs := allowed[k]
		more := ""
		if len(srcs) > 3 {
			more = fmt.Sprintf(" and %d more", len(srcs)-3)
			srcs = srcs[:3]
		}
		c.report.add(model.Problemf(atOf[k.at], "%s -> %s: the network policies allow it (NetworkPolicy %s), and no flow declares it; declare the flows, or narrow what lets them through",
			strings.Join(srcs, ", ")+more, k.dest, k.by))
	}
	return nil
}
