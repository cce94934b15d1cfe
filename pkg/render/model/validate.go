package model

import (
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
)

// Validate checks what the schema's types cannot: how values relate. It
// returns the Model of a valid cluster, or every problem it finds, in a
// stable order, as Problems (whose positions the loader fills in).
func Validate(c *Cluster) (*Model, error) {
	v := &validator{c: c, m: newModel(c)}
	v.versions()
	v.images()
	v.network()
	v.nodes()
	v.loadBalancers()
	v.apps()
	v.flows()
	v.createdBy()
	// Which LoadBalancers the flows reach is known, and worth saying, once
	// the rest of the model holds.
	if len(v.problems) == 0 {
		v.reachable()
	}
	if len(v.problems) > 0 {
		return nil, v.problems
	}
	return v.m, nil
}

type validator struct {
	c        *Cluster
	m        *Model
	problems Problems
}

func (v *validator) add(path Path, format string, args ...any) {
	v.problems = append(v.problems, Problemf(path, format, args...))
}

func (v *validator) addRelated(path Path, related []Path, format string, args ...any) {
	p := Problemf(path, format, args...)
	p.Related = related
	v.problems = append(v.problems, p)
}

func (v *validator) addAt(path Path, at []Path, format string, args ...any) {
	p := Problemf(path, format, args...)
	p.At = at
	v.problems = append(v.problems, p)
}

// prefix checks that a CIDR names a network, not a host in it.
func (v *validator) prefix(path Path, p netip.Prefix) bool {
	if p.Masked() != p {
		v.add(path, "%q has host bits set; did you mean %s?", p, p.Masked())
		return false
	}
	return true
}

// versions checks that what the bootstrap and Flux install is pinned (the
// schema requires it of a model read from CUE; a model built in Go may
// leave it out).
func (v *validator) versions() {
	vs := v.c.Versions
	for _, pin := range []struct{ field, value string }{{"k3s", vs.K3s}, {"flux", vs.Flux}, {"fluxOperator", vs.FluxOperator.Version}} {
		if pin.value == "" {
			v.add(Path{"versions", pin.field}, "the cluster pins no %s version; the bootstrap and Flux install only what versions.cue pins", pin.field)
		}
	}
}

// network checks the address plan: CIDRs, the API VIP and the pool.
func (v *validator) network() {
	n := v.c.Network
	ranges := []struct {
		field string
		what  string
		cidr  netip.Prefix
	}{{"lan", "LAN", n.LAN}, {"pods", "pod", n.Pods}, {"services", "service", n.Services}}
	for i, r := range ranges {
		if !v.prefix(Path{"network", r.field}, r.cidr) {
			continue
		}
		for _, other := range ranges[:i] {
			if other.cidr.Masked().Overlaps(r.cidr) {
				v.addRelated(Path{"network", r.field}, []Path{{"network", other.field}},
					"the %s range %s overlaps the %s range %s; the LAN, pod and service ranges must not share addresses",
					r.what, r.cidr, other.what, other.cidr)
			}
		}
	}
	for i, e := range v.c.Externals {
		v.prefix(Path{"externals", i, "cidr"}, e.CIDR)
	}
	lan := n.LAN.Masked()
	if !lan.Contains(n.APIVIP) {
		v.add(Path{"network", "apiVIP"}, "the API virtual IP %s is outside the LAN %s; kube-vip announces it there by ARP, so pick a free address inside the LAN", n.APIVIP, n.LAN)
	}
	pool := n.LoadBalancerPool
	firstAt, lastAt := Path{"network", "loadBalancerPool", "first"}, Path{"network", "loadBalancerPool", "last"}
	switch {
	case pool.Last.Less(pool.First):
		v.addRelated(firstAt, []Path{lastAt}, "the pool %s - %s is reversed: first must not come after last; did you mean %s - %s?", pool.First, pool.Last, pool.Last, pool.First)
	case !lan.Contains(pool.First):
		v.add(firstAt, "the pool starts at %s, outside the LAN %s; MetalLB announces its addresses on the LAN by ARP", pool.First, n.LAN)
	case !lan.Contains(pool.Last):
		v.add(lastAt, "the pool ends at %s, outside the LAN %s; MetalLB announces its addresses on the LAN by ARP", pool.Last, n.LAN)
	}
	if pool.Contains(n.APIVIP) {
		v.addRelated(Path{"network", "apiVIP"}, []Path{firstAt, lastAt}, "the API virtual IP %s is inside the LoadBalancer pool %s - %s; MetalLB could hand it to a Service, so move one of them", n.APIVIP, pool.First, pool.Last)
	}
}

// nodes checks names, addresses, labels and the etcd quorum.
func (v *validator) nodes() {
	c := v.c
	lan := c.Network.LAN.Masked()
	pool := c.Network.LoadBalancerPool
	names := map[string]int{}
	ips := map[netip.Addr]int{}
	for i, node := range c.Nodes {
		at := Path{"nodes", i}
		if j, dup := names[node.Name]; dup {
			v.addRelated(at.With("name"), []Path{{"nodes", j, "name"}}, "node name %s is used twice; node names must be unique", node.Name)
		}
		names[node.Name] = i
		if !node.IP.IsValid() {
			if !node.Planned {
				v.add(at, "node %s has no ip; give it its LAN address, or mark it planned: true until it is built", node.Name)
			}
		} else {
			if j, dup := ips[node.IP]; dup {
				v.addRelated(at.With("ip"), []Path{{"nodes", j, "ip"}}, "nodes %s and %s both have ip %s; every node needs its own address", c.Nodes[j].Name, node.Name, node.IP)
			}
			ips[node.IP] = i
			if !lan.Contains(node.IP) {
				v.add(at.With("ip"), "node %s: ip %s is outside the LAN %s", node.Name, node.IP, c.Network.LAN)
			}
			if node.IP == c.Network.APIVIP {
				v.addRelated(at.With("ip"), []Path{{"network", "apiVIP"}}, "node %s has the API virtual IP %s as its own address; the VIP must be an address no machine owns", node.Name, node.IP)
			}
			if pool.Contains(node.IP) {
				v.addRelated(at.With("ip"), []Path{{"network", "loadBalancerPool", "first"}, {"network", "loadBalancerPool", "last"}}, "node %s: ip %s is inside the LoadBalancer pool %s - %s; MetalLB would hand it to a Service", node.Name, node.IP, pool.First, pool.Last)
			}
		}
		for _, key := range slices.Sorted(maps.Keys(node.Labels)) {
			if kubeletRefusesLabel(key) {
				v.add(at.With("labels", key), "node %s: the kubelet refuses label %s, so the node would never register: of the kubernetes.io and k8s.io keys it sets only those under %s/ and %s; use your own prefix, e.g. polylab.dev/%s",
					node.Name, key, strings.Join(kubeletLabelNamespaces, "/, "), strings.Join(slices.DeleteFunc(slices.Clone(kubeletLabels), func(k string) bool { return inNamespace(k, kubeletLabelNamespaces...) }), ", "), afterSlash(key))
			}
		}
	}
	v.quorum()
}

// kubeletLabels and kubeletLabelNamespaces are the kubernetes.io keys a
// kubelet may put on its own Node, and the prefixes it may use: K3s passes
// a node's labels to its kubelet (--node-labels), which refuses every other
// key under kubernetes.io or k8s.io before it registers, and the API
// server's NodeRestriction admission refuses them too. Kubernetes v1.35.0:
// k8s.io/kubelet pkg/apis/well_known_labels.go (kubeletLabels,
// kubeletLabelNamespaces, IsKubeletLabel), read by
// cmd/kubelet/app/options/options.go ValidateKubeletFlags and
// plugin/pkg/admission/noderestriction/admission.go getForbiddenLabels.
var (
	kubeletLabels = []string{
		"beta.kubernetes.io/arch", "beta.kubernetes.io/instance-type", "beta.kubernetes.io/os",
		"failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
		"kubernetes.io/arch", "kubernetes.io/hostname", "kubernetes.io/os",
		"node.kubernetes.io/instance-type",
		"topology.kubernetes.io/region", "topology.kubernetes.io/zone",
	}
	kubeletLabelNamespaces = []string{"kubelet.kubernetes.io", "node.kubernetes.io"}
)

// kubeletRefusesLabel is the kubelet's rule for --node-labels, as
// ValidateKubeletFlags applies it: a key in the kubernetes.io or k8s.io
// namespaces (or a subdomain of either) that is not a kubelet label.
// Taints have no such rule: --register-with-taints checks only the syntax
// of a key (pkg/util/taints CheckTaintValidation), and NodeRestriction
// only forbids a node to change its taints after it registered.
func kubeletRefusesLabel(key string) bool {
	return inNamespace(key, "kubernetes.io", "k8s.io") && !isKubeletLabel(key)
}

// isKubeletLabel is IsKubeletLabel of k8s.io/kubelet pkg/apis.
func isKubeletLabel(key string) bool {
	return slices.Contains(kubeletLabels, key) || inNamespace(key, kubeletLabelNamespaces...)
}

// inNamespace reports whether the key's prefix (before the slash) is one
// of the namespaces or a subdomain of one.
func inNamespace(key string, namespaces ...string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	for _, ns := range namespaces {
		if prefix == ns || strings.HasSuffix(prefix, "."+ns) {
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
	servers := v.m.Servers
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

// QuorumFacts says what n etcd members need and survive.
func QuorumFacts(n int) string {
	switch {
	case n == 0:
		return "no server is left to run the control plane"
	case n == 1:
		return "the single member is the quorum and no failure is survivable: no high availability"
	case n%2 == 0:
		return fmt.Sprintf("%d members need %d for quorum and survive %d failure(s), no more than %d would: use an odd number", n, n/2+1, (n-1)/2, n-1)
	}
	return fmt.Sprintf("%d members need %d for quorum and survive %d failure(s)", n, n/2+1, (n-1)/2)
}

// loadBalancers checks every LoadBalancer IP against the pool and the others.
func (v *validator) loadBalancers() {
	pool := v.c.Network.LoadBalancerPool
	poolAt := []Path{{"network", "loadBalancerPool", "first"}, {"network", "loadBalancerPool", "last"}}
	type claim struct {
		by string
		at Path
	}
	claimed := map[netip.Addr]claim{}
	for _, app := range v.m.byName() {
		for _, s := range app.PodSets() {
			for li, lb := range s.Workload.LoadBalancers {
				at := s.Path("loadBalancers", li, "ip")
				by := s.Key()
				// A reversed pool is reported once, above; every IP would be outside it.
				if !pool.Last.Less(pool.First) && !pool.Contains(lb.IP) {
					v.addRelated(at, poolAt, "%s: LoadBalancer IP %s is outside the pool %s - %s; MetalLB only hands out addresses from the pool", by, lb.IP, pool.First, pool.Last)
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

// byName returns the apps sorted by name alone, the order of the checks.
func (m *Model) byName() []*App {
	return slices.SortedFunc(maps.Values(m.apps), func(a, b *App) int { return strings.Compare(a.Name, b.Name) })
}

// apps checks each app's own consistency: workloads, helpers, ports, placement.
func (v *validator) apps() {
	maxGPUs := 0
	for _, n := range v.m.Built {
		maxGPUs = max(maxGPUs, n.GPUCount())
	}
	for _, app := range v.m.byName() {
		names := map[string]PodSet{}
		for _, s := range app.PodSets() {
			w := s.Workload
			if other, dup := names[w.Name]; dup {
				switch {
				case s.Helper && !other.Helper:
					v.addRelated(s.Path("name"), []Path{other.Path("name")}, "app %s has a workload and a helper named %s; flows name both app/name, so pick another name", app.Name, w.Name)
				case s.Helper:
					v.addRelated(s.Path("name"), []Path{other.Path("name")}, "app %s has two helpers named %s", app.Name, w.Name)
				default:
					v.addRelated(s.Path("name"), []Path{other.Path("name")}, "app %s has two workloads named %s", app.Name, w.Name)
				}
			} else {
				names[w.Name] = s
			}
			if s.Helper && len(w.LoadBalancers) > 0 {
				v.add(s.Path("loadBalancers"), "%s is a helper, for which nothing is rendered: it cannot have a LoadBalancer; make it a workload of the app", s.Key())
			}
			v.ports(s)
			switch {
			case !s.Helper:
				v.placement(s, maxGPUs)
			case w.Placement != (Placement{}):
				v.add(s.Path("placement"), "%s is a helper, for which nothing is rendered: its placement would be ignored; drop it (the chart or controller that creates these pods places them)", s.Key())
			}
		}
		if app.Container != nil {
			v.container(app)
		}
		if app.Function != nil {
			v.functionLabels(app)
		}
	}
	v.namespaces()
	v.clusterDNS()
	v.secrets()
}

// functionLabels checks that a function's labels name each class once:
// CVAT refuses a function whose labels repeat a name (cvat/apps/lambda_manager
// views.py, LambdaFunction: "has non-unique labels"), and so does the
// function's handler.
func (v *validator) functionLabels(app *App) {
	first := map[string]int{}
	for i, l := range app.Function.Labels {
		if j, dup := first[l]; dup {
			v.addRelated(app.Path("function", "labels", i), []Path{app.Path("function", "labels", j)}, "function %s lists the label %q twice; CVAT refuses a function whose labels repeat a name, so list it once", app.Name, l)
			continue
		}
		first[l] = i
	}
}

// secrets checks how render -secrets makes the Secrets' values: for keys
// the Secret has, one way each, and the same way in every app that reads
// the Secret.
func (v *validator) secrets() {
	type way struct {
		g  Generate
		at Path
	}
	ways := map[string]way{}
	type typed struct {
		typ string
		at  Path
	}
	types := map[string]typed{}
	for _, app := range v.m.byName() {
		for i, s := range app.Secrets {
			id := app.Namespace + "/" + s.Name
			at := app.Path("secrets", i, "type")
			if prev, ok := types[id]; !ok {
				types[id] = typed{s.Type, at}
			} else if prev.typ != s.Type {
				v.addRelated(at, []Path{prev.at}, "apps give Secret %s two types, %s and %s; one Secret has one type, so say it alike", id, prev.typ, s.Type)
			}
			if s.Type == SecretDockerConfig {
				v.dockerConfig(app, i)
			}
			for _, k := range slices.Sorted(maps.Keys(s.Generate)) {
				at := app.Path("secrets", i, "generate", k)
				if !slices.Contains(s.Keys, k) {
					v.add(at, "Secret %s has no key %s to generate%s; it lists %s", s.Name, k, DidYouMean(k, s.Keys), strings.Join(s.Keys, ", "))
					continue
				}
				if n := s.Generate[k].ways(); len(n) != 1 {
					what := "names no way to make it"
					if len(n) > 1 {
						what = "names " + strings.Join(n, " and ") + ", and a key is made one way"
					}
					v.add(at, "generate.%s of Secret %s %s: keep one of password, hex, base64, value or supplied", k, s.Name, what)
					continue
				}
				key := id + "/" + k
				if prev, ok := ways[key]; ok && !reflect.DeepEqual(prev.g, s.Generate[k]) {
					v.addRelated(at, []Path{prev.at}, "apps say two ways to make key %s of Secret %s; one Secret has one value, so say it alike (or in one app only)", k, id)
					continue
				}
				ways[key] = way{s.Generate[k], at}
			}
		}
	}
}

// dockerConfig checks a registry login Secret: one key, .dockerconfigjson,
// which only the owner has (render -secrets asks for it).
func (v *validator) dockerConfig(app *App, i int) {
	s := app.Secrets[i]
	if len(s.Keys) != 1 || s.Keys[0] != SecretDockerConfigKey {
		v.add(app.Path("secrets", i, "keys"), "Secret %s is a registry login (type %s), whose one key is %s; set keys: [%q]", s.Name, s.Type, SecretDockerConfigKey, SecretDockerConfigKey)
		return
	}
	if g, ok := s.Generate[SecretDockerConfigKey]; !ok || g.Supplied == nil {
		v.add(app.Path("secrets", i, "generate"), "Secret %s is a registry login, which only you have: set generate: %q: supplied: \"the output of kubectl create secret docker-registry ... --dry-run=client -o jsonpath='{.data.\\.dockerconfigjson}' | base64 -d\"", s.Name, SecretDockerConfigKey)
	}
}

// namespaces checks that the apps sharing a namespace agree on whether it
// is open (without a default deny).
func (v *validator) namespaces() {
	for _, ns := range v.m.Namespaces {
		if len(ns.Apps) < 2 {
			continue
		}
		for _, app := range ns.Apps[1:] {
			if first := ns.Apps[0]; first.OpenNamespace != app.OpenNamespace {
				v.addRelated(app.Path("openNamespace"), []Path{first.Path("openNamespace")},
					"apps %s and %s share namespace %s, and only one of them sets openNamespace; a namespace has a default deny or not, so set it alike on both", first.Name, app.Name, ns.Name)
			}
		}
	}
}

// clusterDNS checks the DNS server every restricted namespace may reach:
// one at most, and with the ports it serves.
func (v *validator) clusterDNS() {
	var found []Path
	var names []string
	for _, app := range v.m.byName() {
		for _, s := range app.PodSets() {
			if !s.Workload.ClusterDNS {
				continue
			}
			at := s.Path("clusterDNS")
			if len(s.Workload.Ports) == 0 {
				v.add(at, "%s is marked clusterDNS and declares no ports; list the ports it answers on (53/UDP and 53/TCP)", s.Key())
			}
			found = append(found, at)
			names = append(names, s.Key())
		}
	}
	if len(found) > 1 {
		v.addAt(found[0], found, "%s are all marked clusterDNS; the cluster has one DNS service, so mark one", strings.Join(names, ", "))
	}
}

// maxPort is the highest TCP or UDP port.
const maxPort = 65535

func (v *validator) ports(s PodSet) {
	w := s.Workload
	names := map[string]int{}
	numbers := map[string]int{}
	for pi, p := range w.Ports {
		if j, dup := names[p.Name]; dup {
			v.addRelated(s.Path("ports", pi, "name"), []Path{s.Path("ports", j, "name")}, "%s declares port name %s twice", s.Key(), p.Name)
		}
		names[p.Name] = pi
		key := fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if j, dup := numbers[key]; dup {
			v.addRelated(s.Path("ports", pi, "port"), []Path{s.Path("ports", j, "port")}, "%s declares port %s twice (%s and %s)", s.Key(), key, w.Ports[j].Name, p.Name)
		}
		numbers[key] = pi
		if p.EndPort != 0 {
			v.portRange(s, pi)
		}
	}
	for li, lb := range w.LoadBalancers {
		for pi, lp := range lb.Ports {
			at := s.Path("loadBalancers", li, "ports", pi, "name")
			j, ok := names[lp.Name]
			switch {
			case !ok:
				v.add(at, "%s: the LoadBalancer on %s exposes port %q, which the workload does not declare; it has %s", s.Key(), lb.IP, lp.Name, w.PortNames())
			case w.Ports[j].IsRange():
				v.addRelated(at, []Path{s.Path("ports", j, "endPort")}, "%s: the LoadBalancer on %s exposes port %s, a range (%s); a Service maps single ports, so expose one port without endPort", s.Key(), lb.IP, lp.Name, w.Ports[j].PodPorts())
			}
		}
	}
}

// portRange checks a port with endPort: a range of pod ports, which a
// NetworkPolicy opens whole and no Service can map.
func (v *validator) portRange(s PodSet, pi int) {
	w := s.Workload
	p := w.Ports[pi]
	at := s.Path("ports", pi)
	switch {
	case p.EndPort < 0 || p.EndPort > maxPort:
		v.add(at.With("endPort"), "%s: port %s ends at %d, outside 1-%d", s.Key(), p.Name, p.EndPort, maxPort)
	case p.EndPort <= p.TargetPort:
		v.addRelated(at.With("endPort"), []Path{at.With("port")}, "%s: port %s is the range %d-%d, which ends before it starts; endPort must be greater than port (for a single port, drop endPort)", s.Key(), p.Name, p.TargetPort, p.EndPort)
	}
	if p.TargetPort != p.Port {
		v.addRelated(at.With("targetPort"), []Path{at.With("endPort")}, "%s: port %s is a range, which no Service translates; drop targetPort and give the pods' first port as port", s.Key(), p.Name)
	}
	for qi, q := range w.Ports {
		if qi == pi || q.Protocol != p.Protocol || (q.IsRange() && qi < pi) {
			continue
		}
		if q.TargetPort <= p.Last() && p.TargetPort <= q.Last() {
			v.addRelated(at.With("endPort"), []Path{s.Path("ports", qi, "port")}, "%s: the range %s of port %s overlaps port %s (%s/%s); a pod port belongs to one port of the model", s.Key(), p.PodPorts(), p.Name, q.Name, q.PodPorts(), q.Protocol)
		}
	}
}

func (v *validator) placement(s PodSet, maxGPUs int) {
	p := s.Workload.Placement
	if p.GPUs > 0 {
		switch {
		case maxGPUs == 0:
			v.add(s.Path("placement", "gpus"), "%s needs %d GPU(s), but no node that is built (planned: false) has a GPU; add gpus to a node or drop the placement", s.Key(), p.GPUs)
		case p.GPUs > maxGPUs:
			v.add(s.Path("placement", "gpus"), "%s needs %d GPUs per pod, but the largest GPU node has %d; no node could run it", s.Key(), p.GPUs, maxGPUs)
		}
	}
	if p.Node == "" {
		return
	}
	i := slices.IndexFunc(v.c.Nodes, func(n Node) bool { return n.Name == p.Node })
	switch {
	case i < 0:
		var names []string
		for _, n := range v.c.Nodes {
			names = append(names, n.Name)
		}
		v.add(s.Path("placement", "node"), "%s is placed on node %s, which the cluster does not have%s", s.Key(), p.Node, DidYouMean(p.Node, names))
	case v.c.Nodes[i].Planned:
		v.addRelated(s.Path("placement", "node"), []Path{{"nodes", i, "planned"}}, "%s is placed on node %s, which is planned, not built; nothing rendered may require a planned node", s.Key(), p.Node)
	case p.GPUs > v.c.Nodes[i].GPUCount():
		var gpuNodes []string
		for _, n := range v.m.GPUNodes {
			if n.GPUCount() >= p.GPUs {
				gpuNodes = append(gpuNodes, n.Name)
			}
		}
		where := "drop node"
		if len(gpuNodes) > 0 {
			where = "place it on " + strings.Join(gpuNodes, " or ") + ", or drop node"
		}
		has := "none"
		if n := v.c.Nodes[i].GPUCount(); n > 0 {
			has = fmt.Sprintf("only %d", n)
		}
		v.addRelated(s.Path("placement", "node"), []Path{s.Path("placement", "gpus")}, "%s needs %d GPU(s) per pod and is placed on node %s, which has %s: no pod could start there; %s (gpus alone picks a GPU node)",
			s.Key(), p.GPUs, p.Node, has, where)
	}
}

// flows checks that every flow names real endpoints and a port the
// target exposes, and resolves each into the Model's links.
func (v *validator) flows() {
	for i, f := range v.c.Flows {
		at := Path{"flows", i}
		from, errFrom := v.m.Resolve(f.From)
		if errFrom != nil {
			v.add(at.With("from"), "flow from %s: %v", f.From, errFrom)
		}
		to, err := v.m.Resolve(f.To)
		switch {
		case err != nil:
			v.add(at.With("to"), "flow to %s: %v", f.To, err)
			continue
		case to.External != nil:
			v.add(at.With("to"), "flow to %s: an external source cannot be a flow's target; flows end at a workload", f.To)
			continue
		}
		port, ok := to.Workload.FindPort(f.Port)
		if !ok {
			v.add(at.With("port"), "flow %s -> %s: %s does not expose port %s; it has %s", f.From, f.To, to, f.Port, to.Workload.PortNames())
			continue
		}
		if errFrom == nil {
			v.m.Links = append(v.m.Links, Link{Flow: f, Index: i, From: from, To: to.PodSet, Port: port})
		}
	}
}

// reachable checks that a LoadBalancer in a namespace with a default deny
// is reached by a flow from outside the cluster on each port it exposes:
// the deny drops what no flow allows, so the LAN would reach the address
// and get no answer.
func (v *validator) reachable() {
	reached := map[string]bool{}
	for _, l := range v.m.Links {
		if l.From.External != nil {
			reached[l.To.Key()+"\x00"+l.Port.Name] = true
		}
	}
	source := "lan"
	if len(v.c.Externals) > 0 {
		source = v.c.Externals[0].Name
	}
	for _, app := range v.m.byName() {
		if !v.m.Restricted(app.Namespace) {
			continue
		}
		for _, s := range app.PodSets() {
			to := s.Key()
			if len(app.Workloads) == 1 && !s.Helper {
				to = app.Name
			}
			for li, lb := range s.Workload.LoadBalancers {
				var names, flows []string
				for _, lp := range lb.Ports {
					if !reached[s.Key()+"\x00"+lp.Name] {
						names = append(names, lp.Name)
						flows = append(flows, fmt.Sprintf("{from: %q, to: %q, port: %q, purpose: \"...\"}", source, to, lp.Name))
					}
				}
				if len(names) == 0 {
					continue
				}
				declare := ""
				if len(v.c.Externals) == 0 {
					declare = " (declare the LAN in externals first)"
				}
				v.add(s.Path("loadBalancers", li), "%s: the LoadBalancer on %s exposes %s, which no flow from outside the cluster reaches: namespace %s denies what no flow allows, so clients would reach the address and get no answer; add %s to flows%s",
					s.Key(), lb.IP, strings.Join(names, ", "), app.Namespace, strings.Join(flows, " and "), declare)
			}
		}
	}
}

// Resolve finds the endpoint a flow or a setting names: "app/workload",
// "app" when the app has a single workload, or an external source's name.
func (m *Model) Resolve(ref string) (Endpoint, error) {
	appName, workloadName, hasWorkload := strings.Cut(ref, "/")
	if !hasWorkload {
		for i := range m.Externals {
			if m.Externals[i].Name == ref {
				return Endpoint{External: &m.Externals[i]}, nil
			}
		}
	}
	app := m.apps[appName]
	if app == nil {
		return Endpoint{}, fmt.Errorf("%q is neither an app nor an external source; known: %s", appName, strings.Join(m.endpointNames(), ", "))
	}
	sets := app.PodSets()
	if !hasWorkload {
		if len(app.Workloads) != 1 {
			return Endpoint{}, fmt.Errorf("app %s has %d workloads; name one: %s", app.Name, len(app.Workloads), strings.Join(refs(sets), ", "))
		}
		return Endpoint{PodSet: sets[0]}, nil
	}
	for _, s := range sets {
		if s.Workload.Name == workloadName {
			return Endpoint{PodSet: s}, nil
		}
	}
	return Endpoint{}, fmt.Errorf("app %s has no workload %q; it has %s", app.Name, workloadName, strings.Join(refs(sets), ", "))
}

func refs(sets []PodSet) []string {
	out := make([]string, len(sets))
	for i, s := range sets {
		out[i] = s.Key()
	}
	return out
}

func (m *Model) endpointNames() []string {
	names := slices.Sorted(maps.Keys(m.apps))
	for _, e := range m.Externals {
		names = append(names, e.Name)
	}
	return names
}
