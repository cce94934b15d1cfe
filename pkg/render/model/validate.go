package model

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Path locates a value inside the cluster: field names (string) and list
// indexes (int), such as nodes.3.ip.
type Path []any

// String writes the path as CUE does: nodes.3.ip.
func (p Path) String() string {
	parts := make([]string, len(p))
	for i, s := range p {
		switch s := s.(type) {
		case int:
			parts[i] = strconv.Itoa(s)
		case string:
			parts[i] = s
		}
	}
	return strings.Join(parts, ".")
}

// Issue is one inconsistency in a model: the value at Path, what is wrong
// with it and how to fix it, and the paths of related values (the other
// half of a duplicate, say).
type Issue struct {
	Path    Path
	Message string
	Related []Path
	// At, when set, replaces Path and Related as the places to point at:
	// for a whole list, the entries that matter say more than the list.
	At []Path
}

// Validate checks what the schema's types cannot: how values relate. It
// returns every issue it finds, in a stable order; none means the model
// can be rendered.
func Validate(c *Cluster) []Issue {
	v := &validator{c: c}
	v.network()
	v.nodes()
	v.loadBalancers()
	v.apps()
	v.flows()
	return v.issues
}

type validator struct {
	c      *Cluster
	issues []Issue
}

func (v *validator) add(path Path, format string, args ...any) {
	v.issues = append(v.issues, Issue{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) addRelated(path Path, related []Path, format string, args ...any) {
	v.issues = append(v.issues, Issue{Path: path, Message: fmt.Sprintf(format, args...), Related: related})
}

func (v *validator) addAt(path Path, at []Path, format string, args ...any) {
	v.issues = append(v.issues, Issue{Path: path, Message: fmt.Sprintf(format, args...), At: at})
}

// prefix parses a CIDR that must name a network, not a host in it.
func (v *validator) prefix(path Path, cidr string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		v.add(path, "%q is not a CIDR such as 10.0.0.0/24", cidr)
		return p, false
	}
	if p.Masked() != p {
		v.add(path, "%q has host bits set; did you mean %s?", cidr, p.Masked())
		return p.Masked(), false
	}
	return p, true
}

func addr(s string) netip.Addr {
	a, _ := netip.ParseAddr(s) // the schema has checked the syntax
	return a
}

// network checks the address plan: CIDRs, the API VIP and the pool.
func (v *validator) network() {
	n := v.c.Network
	ranges := []struct {
		field string
		what  string
		cidr  string
	}{{"lan", "LAN", n.LAN}, {"pods", "pod", n.Pods}, {"services", "service", n.Services}}
	var parsed []netip.Prefix
	for i, r := range ranges {
		p, ok := v.prefix(Path{"network", r.field}, r.cidr)
		parsed = append(parsed, p)
		if !ok {
			continue
		}
		for j := range i {
			if parsed[j].IsValid() && parsed[j].Overlaps(p) {
				v.addRelated(Path{"network", r.field}, []Path{{"network", ranges[j].field}},
					"the %s range %s overlaps the %s range %s; the LAN, pod and service ranges must not share addresses",
					r.what, r.cidr, ranges[j].what, ranges[j].cidr)
			}
		}
	}
	for i, e := range v.c.Externals {
		v.prefix(Path{"externals", i, "cidr"}, e.CIDR)
	}
	lan := parsed[0]

	vip := addr(n.APIVIP)
	if lan.IsValid() && !lan.Contains(vip) {
		v.add(Path{"network", "apiVIP"}, "the API virtual IP %s is outside the LAN %s; kube-vip announces it there by ARP, so pick a free address inside the LAN", n.APIVIP, n.LAN)
	}
	first, last := addr(n.LoadBalancerPool.First), addr(n.LoadBalancerPool.Last)
	firstAt, lastAt := Path{"network", "loadBalancerPool", "first"}, Path{"network", "loadBalancerPool", "last"}
	switch {
	case last.Less(first):
		v.addRelated(firstAt, []Path{lastAt}, "the pool %s - %s is reversed: first must not come after last; did you mean %s - %s?", first, last, last, first)
	case lan.IsValid() && !lan.Contains(first):
		v.add(firstAt, "the pool starts at %s, outside the LAN %s; MetalLB announces its addresses on the LAN by ARP", first, n.LAN)
	case lan.IsValid() && !lan.Contains(last):
		v.add(lastAt, "the pool ends at %s, outside the LAN %s; MetalLB announces its addresses on the LAN by ARP", last, n.LAN)
	}
	if inPool(vip, first, last) {
		v.addRelated(Path{"network", "apiVIP"}, []Path{firstAt, lastAt}, "the API virtual IP %s is inside the LoadBalancer pool %s - %s; MetalLB could hand it to a Service, so move one of them", vip, first, last)
	}
}

func inPool(a, first, last netip.Addr) bool {
	return a.IsValid() && !a.Less(first) && !last.Less(a)
}

// nodes checks names, addresses, labels and the etcd quorum.
func (v *validator) nodes() {
	c := v.c
	lan, _ := netip.ParsePrefix(c.Network.LAN)
	names := map[string]int{}
	ips := map[string]int{}
	first, last := addr(c.Network.LoadBalancerPool.First), addr(c.Network.LoadBalancerPool.Last)
	for i, node := range c.Nodes {
		at := Path{"nodes", i}
		if j, dup := names[node.Name]; dup {
			v.addRelated(append(at, "name"), []Path{{"nodes", j, "name"}}, "node name %s is used twice; node names must be unique", node.Name)
		}
		names[node.Name] = i
		if node.IP == "" {
			if !node.Planned {
				v.add(at, "node %s has no ip; give it its LAN address, or mark it planned: true until it is built", node.Name)
			}
		} else {
			ip := addr(node.IP)
			if j, dup := ips[node.IP]; dup {
				v.addRelated(append(at, "ip"), []Path{{"nodes", j, "ip"}}, "nodes %s and %s both have ip %s; every node needs its own address", c.Nodes[j].Name, node.Name, node.IP)
			}
			ips[node.IP] = i
			if lan.IsValid() && !lan.Contains(ip) {
				v.add(append(at, "ip"), "node %s: ip %s is outside the LAN %s", node.Name, node.IP, c.Network.LAN)
			}
			if node.IP == c.Network.APIVIP {
				v.addRelated(append(at, "ip"), []Path{{"network", "apiVIP"}}, "node %s has the API virtual IP %s as its own address; the VIP must be an address no machine owns", node.Name, node.IP)
			}
			if inPool(ip, first, last) {
				v.addRelated(append(at, "ip"), []Path{{"network", "loadBalancerPool", "first"}, {"network", "loadBalancerPool", "last"}}, "node %s: ip %s is inside the LoadBalancer pool %s - %s; MetalLB would hand it to a Service", node.Name, node.IP, first, last)
			}
		}
		for _, key := range slices.Sorted(maps.Keys(node.Labels)) {
			if reservedKey(key) {
				v.add(append(at, "labels", key), "node %s: label %s uses a reserved prefix; K3s refuses kubernetes.io and k8s.io labels at registration (NodeRestriction), so use your own prefix, e.g. polylab.dev/%s", node.Name, key, afterSlash(key))
			}
		}
		for j, t := range node.Taints {
			if reservedKey(t.Key) {
				v.add(append(at, "taints", j, "key"), "node %s: taint %s uses a reserved prefix; K3s refuses kubernetes.io and k8s.io keys at registration, so use your own prefix", node.Name, t.Key)
			}
		}
	}
	v.quorum()
}

func reservedKey(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	for _, reserved := range []string{"kubernetes.io", "k8s.io"} {
		if prefix == reserved || strings.HasSuffix(prefix, "."+reserved) {
			return true
		}
	}
	return false
}

func afterSlash(key string) string {
	_, name, _ := strings.Cut(key, "/")
	return name
}

// quorum checks that the servers can form an etcd quorum that survives a failure.
func (v *validator) quorum() {
	servers := v.c.Servers()
	var roles []Path
	for i, n := range v.c.Nodes {
		if n.Role == Server || len(servers) == 0 {
			roles = append(roles, Path{"nodes", i, "role"})
		}
	}
	switch n := len(servers); {
	case n == 0:
		v.addAt(Path{"nodes"}, roles, "the cluster has no server that is built; at least one node needs role: \"server\" to run the control plane and etcd (three for high availability)")
	case n%2 == 0:
		v.addAt(Path{"nodes"}, roles, "the cluster has %d servers; embedded etcd needs an odd number: %d members need %d for quorum and survive %d failure(s), no more than %d would; use %d or %d servers",
			n, n, n/2+1, (n-1)/2, n-1, n-1, n+1)
	}
}

// loadBalancers checks every LoadBalancer IP against the pool and the others.
func (v *validator) loadBalancers() {
	c := v.c
	first, last := addr(c.Network.LoadBalancerPool.First), addr(c.Network.LoadBalancerPool.Last)
	poolAt := []Path{{"network", "loadBalancerPool", "first"}, {"network", "loadBalancerPool", "last"}}
	type claim struct {
		by string
		at Path
	}
	claimed := map[string]claim{}
	for _, name := range slices.Sorted(maps.Keys(c.Apps)) {
		app := c.Apps[name]
		for wi, w := range app.Workloads {
			for li, lb := range w.LoadBalancers {
				at := Path{"apps", name, "workloads", wi, "loadBalancers", li, "ip"}
				by := name + "/" + w.Name
				// A reversed pool is reported once, above; every IP would be outside it.
				if !last.Less(first) && !inPool(addr(lb.IP), first, last) {
					v.addRelated(at, poolAt, "%s: LoadBalancer IP %s is outside the pool %s - %s; MetalLB only hands out addresses from the pool", by, lb.IP, first, last)
				}
				if prev, dup := claimed[lb.IP]; dup {
					v.addRelated(at, []Path{prev.at}, "%s and %s both claim LoadBalancer IP %s; each Service needs its own", prev.by, by, lb.IP)
					continue
				}
				claimed[lb.IP] = claim{by, at}
			}
		}
	}
}

// Components that install a Helm chart, a container or a function, and
// so need that block in the model.
var needs = map[string]string{
	"helm": "helm", "metallb": "helm", "longhorn": "helm", "nvidia-device-plugin": "helm",
	"minio": "helm", "cvat": "helm", "clearml": "helm",
	"container": "container", "nuclio-function": "function", "kube-vip": "image",
}

// apps checks each app's own consistency: blocks, workloads, ports, placement.
func (v *validator) apps() {
	c := v.c
	maxGPUs := 0
	for _, n := range c.ActiveNodes() {
		maxGPUs = max(maxGPUs, n.GPUCount())
	}
	for _, name := range slices.Sorted(maps.Keys(c.Apps)) {
		app := c.Apps[name]
		at := Path{"apps", name}
		if block, ok := needs[app.Component]; ok && !app.has(block) {
			v.add(at, "app %s is a %s component and needs a %s block", name, app.Component, block)
		}
		if app.Component == "container" && len(app.Workloads) != 1 {
			v.add(append(at, "workloads"), "container app %s runs one workload, not %d", name, len(app.Workloads))
		}
		workloads := map[string]int{}
		helpers := map[string]int{}
		for wi, w := range app.Workloads {
			wat := append(slices.Clone(at), "workloads", wi)
			if j, dup := workloads[w.Name]; dup {
				v.addRelated(append(wat, "name"), []Path{append(slices.Clone(at), "workloads", j, "name")}, "app %s has two workloads named %s", name, w.Name)
			}
			workloads[w.Name] = wi
			v.ports(name, wat, w, app.Component)
			v.placement(name, wat, w, maxGPUs)
		}
		for hi, h := range app.Helpers {
			hat := append(slices.Clone(at), "helpers", hi)
			if j, dup := workloads[h.Name]; dup {
				v.addRelated(append(hat, "name"), []Path{append(slices.Clone(at), "workloads", j, "name")}, "app %s has a workload and a helper named %s; flows name both app/name, so pick another name", name, h.Name)
			}
			if j, dup := helpers[h.Name]; dup {
				v.addRelated(append(hat, "name"), []Path{append(slices.Clone(at), "helpers", j, "name")}, "app %s has two helpers named %s", name, h.Name)
			}
			helpers[h.Name] = hi
			if len(h.LoadBalancers) > 0 {
				v.add(append(hat, "loadBalancers"), "%s/%s is a helper, for which nothing is rendered: it cannot have a LoadBalancer; make it a workload of the app", name, h.Name)
			}
			v.ports(name, hat, h, "") // nothing renders a helper's Service
		}
	}
	v.namespaces()
	v.clusterDNS()
}

// namespaces checks that the apps sharing a namespace agree on whether it
// is open (without a default deny).
func (v *validator) namespaces() {
	first := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(v.c.Apps)) {
		app := v.c.Apps[name]
		other, seen := first[app.Namespace]
		if !seen {
			first[app.Namespace] = name
			continue
		}
		if o := v.c.Apps[other]; o.OpenNamespace != app.OpenNamespace {
			v.addRelated(Path{"apps", name, "openNamespace"}, []Path{{"apps", other, "openNamespace"}},
				"apps %s and %s share namespace %s, and only one of them sets openNamespace; a namespace has a default deny or not, so set it alike on both", other, name, app.Namespace)
		}
	}
}

// clusterDNS checks the DNS server every restricted namespace may reach:
// one at most, and with the ports it serves.
func (v *validator) clusterDNS() {
	var found []Path
	var names []string
	for _, name := range slices.Sorted(maps.Keys(v.c.Apps)) {
		app := v.c.Apps[name]
		for _, set := range []struct {
			field string
			list  []Workload
		}{{"workloads", app.Workloads}, {"helpers", app.Helpers}} {
			for i, w := range set.list {
				if !w.ClusterDNS {
					continue
				}
				at := Path{"apps", name, set.field, i, "clusterDNS"}
				if len(w.Ports) == 0 {
					v.add(at, "%s/%s is marked clusterDNS and declares no ports; list the ports it answers on (53/UDP and 53/TCP)", name, w.Name)
				}
				found = append(found, at)
				names = append(names, name+"/"+w.Name)
			}
		}
	}
	if len(found) > 1 {
		v.addAt(found[0], found, "%s are all marked clusterDNS; the cluster has one DNS service, so mark one", strings.Join(names, ", "))
	}
}

func (a App) has(block string) bool {
	switch block {
	case "helm":
		return a.Helm != nil
	case "container":
		return a.Container != nil
	case "function":
		return a.Function != nil
	case "image":
		return a.Image != ""
	}
	return true
}

// maxPort is the highest TCP or UDP port.
const maxPort = 65535

func (v *validator) ports(app string, at Path, w Workload, component string) {
	names := map[string]int{}
	numbers := map[string]int{}
	for pi, p := range w.Ports {
		pat := append(slices.Clone(at), "ports", pi)
		if j, dup := names[p.Name]; dup {
			v.addRelated(append(pat, "name"), []Path{append(slices.Clone(at), "ports", j, "name")}, "%s/%s declares port name %s twice", app, w.Name, p.Name)
		}
		names[p.Name] = pi
		key := fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if j, dup := numbers[key]; dup {
			v.addRelated(append(pat, "port"), []Path{append(slices.Clone(at), "ports", j, "port")}, "%s/%s declares port %s twice (%s and %s)", app, w.Name, key, w.Ports[j].Name, p.Name)
		}
		numbers[key] = pi
		if p.EndPort != 0 {
			v.portRange(app, at, w, pi, component)
		}
	}
	for li, lb := range w.LoadBalancers {
		for pi, lp := range lb.Ports {
			lat := append(slices.Clone(at), "loadBalancers", li, "ports", pi, "name")
			j, ok := names[lp.Name]
			switch {
			case !ok:
				v.add(lat, "%s/%s: the LoadBalancer on %s exposes port %q, which the workload does not declare; it has %s", app, w.Name, lb.IP, lp.Name, w.PortNames())
			case w.Ports[j].IsRange():
				v.addRelated(lat, []Path{append(slices.Clone(at), "ports", j, "endPort")}, "%s/%s: the LoadBalancer on %s exposes port %s, a range (%s); a Service maps single ports, so expose one port without endPort", app, w.Name, lb.IP, lp.Name, w.Ports[j].PodPorts())
			}
		}
	}
}

// portRange checks a port with endPort: a range of pod ports, which a
// NetworkPolicy opens whole and no Service can map.
func (v *validator) portRange(app string, at Path, w Workload, pi int, component string) {
	p := w.Ports[pi]
	pat := append(slices.Clone(at), "ports", pi)
	switch {
	case p.EndPort < 0 || p.EndPort > maxPort:
		v.add(append(pat, "endPort"), "%s/%s: port %s ends at %d, outside 1-%d", app, w.Name, p.Name, p.EndPort, maxPort)
	case p.EndPort <= p.TargetPort:
		v.addRelated(append(pat, "endPort"), []Path{append(slices.Clone(pat), "port")}, "%s/%s: port %s is the range %d-%d, which ends before it starts; endPort must be greater than port (for a single port, drop endPort)", app, w.Name, p.Name, p.TargetPort, p.EndPort)
	}
	if p.TargetPort != p.Port {
		v.addRelated(append(pat, "targetPort"), []Path{append(slices.Clone(pat), "endPort")}, "%s/%s: port %s is a range, which no Service translates; drop targetPort and give the pods' first port as port", app, w.Name, p.Name)
	}
	if component == "container" {
		v.add(append(pat, "endPort"), "%s/%s: the container component renders a Service of every port, and a Service cannot map the range %s of port %s; declare single ports", app, w.Name, p.PodPorts(), p.Name)
	}
	for qi, q := range w.Ports {
		if qi == pi || q.Protocol != p.Protocol || (q.IsRange() && qi < pi) {
			continue
		}
		if q.TargetPort <= p.Last() && p.TargetPort <= q.Last() {
			v.addRelated(append(pat, "endPort"), []Path{append(slices.Clone(at), "ports", qi, "port")}, "%s/%s: the range %s of port %s overlaps port %s (%s/%s); a pod port belongs to one port of the model", app, w.Name, p.PodPorts(), p.Name, q.Name, q.PodPorts(), q.Protocol)
		}
	}
}

func (v *validator) placement(app string, at Path, w Workload, maxGPUs int) {
	p := w.Placement
	if p.GPUs > 0 {
		switch {
		case maxGPUs == 0:
			v.add(append(at, "placement", "gpus"), "%s/%s needs %d GPU(s), but no node that is built (planned: false) has a GPU; add gpus to a node or drop the placement", app, w.Name, p.GPUs)
		case p.GPUs > maxGPUs:
			v.add(append(at, "placement", "gpus"), "%s/%s needs %d GPUs per pod, but the largest GPU node has %d; no node could run it", app, w.Name, p.GPUs, maxGPUs)
		}
	}
	if p.Node == "" {
		return
	}
	i := slices.IndexFunc(v.c.Nodes, func(n Node) bool { return n.Name == p.Node })
	switch {
	case i < 0:
		v.add(append(at, "placement", "node"), "%s/%s is placed on node %s, which the cluster does not have", app, w.Name, p.Node)
	case v.c.Nodes[i].Planned:
		v.addRelated(append(at, "placement", "node"), []Path{{"nodes", i, "planned"}}, "%s/%s is placed on node %s, which is planned, not built; nothing rendered may require a planned node", app, w.Name, p.Node)
	}
}

// flows checks that every flow names real endpoints and a port the target exposes.
func (v *validator) flows() {
	for i, f := range v.c.Flows {
		at := Path{"flows", i}
		if _, err := v.c.Resolve(f.From); err != nil {
			v.add(append(at, "from"), "flow from %s: %v", f.From, err)
		}
		to, err := v.c.Resolve(f.To)
		switch {
		case err != nil:
			v.add(append(at, "to"), "flow to %s: %v", f.To, err)
			continue
		case to.External != nil:
			v.add(append(at, "to"), "flow to %s: an external source cannot be a flow's target; flows end at a workload", f.To)
			continue
		}
		if _, ok := to.Workload.FindPort(f.Port); !ok {
			v.add(append(at, "port"), "flow %s -> %s: %s does not expose port %s; it has %s", f.From, f.To, to, f.Port, to.Workload.PortNames())
		}
	}
}
