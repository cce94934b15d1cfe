package host

import (
	"bytes"
	"fmt"
	"maps"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// FirewallFile is a node's host firewall: an nftables rule set that
// bootstrap/install.sh checks (nft -c -f), loads (nft -f) and keeps for
// boot in /etc/nftables.conf. Flux never applies it.
const FirewallFile = "nftables.nft"

// The node-port sources of the model, and the nftables sets they name.
const (
	fromServers = "servers"
	fromAgents  = "agents"
	fromNodes   = "nodes"
	fromLAN     = "lan"
)

// fromNames name the node-port sources in the rules' comments.
var fromNames = map[string]string{fromServers: "the servers", fromAgents: "the agents", fromNodes: "the nodes", fromLAN: "the LAN"}

// K3s's own ports (k3s-io/docs installation/requirements.md).
const (
	etcdClientPort = 2379
	etcdPeerPort   = 2380
	kubeletPort    = 10250
)

// flannelPorts are the UDP ports each flannel backend carries pod traffic
// on between the nodes; host-gw routes it over the LAN without a tunnel.
var flannelPorts = map[string]int{"vxlan": 8472, "wireguard-native": 51820}

// The interfaces pod traffic reaches a node on. The accepts of the pod
// and service ranges are bound to them: a LAN host can forge a source in
// those ranges, but it cannot make its packet arrive on them.
//
// cniBridge is the bridge of the node's own pods. K3s's flannel CNI config
// delegates to the bridge plugin without naming the bridge (k3s-io/k3s
// pkg/agent/flannel/setup_linux.go, cniConf), and the bridge plugin's
// default is cni0 (containernetworking/plugins bridge.go, defaultBrName).
//
// flannelTunnels are the devices other nodes' pods arrive through, per
// backend: flannel.<VNI> for vxlan, VNI 1 unless configured (flannel-io/
// flannel pkg/backend/vxlan, fmt.Sprintf("flannel.%v", cfg.VNI)), and
// flannel-wg for wireguard-native (pkg/backend/wireguard/wireguard.go,
// createWGDev(..., "flannel-wg", ...)). K3s's own k3s-killall.sh deletes
// exactly cni0, flannel.1 and flannel-wg (install.sh, create_killall).
//
// host-gw has no tunnel: other nodes' pods arrive on the LAN NIC with their
// own pod addresses. To a pod that is forwarded traffic, so the forward
// chain must admit pod sources from any interface, and there a forged pod
// source from the LAN cannot be told apart: host-gw trusts the LAN's layer
// 2 (choose vxlan or wireguard-native on a LAN that is not trusted). To the
// node itself (input) nothing from other nodes' pods arrives with a pod
// source: flannel masquerades pod traffic that leaves the cluster range
// (ip-masq, which K3s runs), so another node's pod reaches this node's
// addresses as its node's IP and meets the node rules. The input accept
// is bound to cni0 alone, for every backend but the tunnel's.
const cniBridge = "cni0"

var flannelTunnels = map[string]string{"vxlan": "flannel.1", "wireguard-native": "flannel-wg"}

// podInterfaces is the nftables expression of the interfaces pods arrive
// on: cni0 and the backend's tunnel.
func podInterfaces(backend string) string {
	if tunnel, ok := flannelTunnels[backend]; ok {
		return fmt.Sprintf("{ %q, %q }", cniBridge, tunnel)
	}
	return strconv.Quote(cniBridge)
}

// FirewallTable names the nftables table of the cluster's host firewall:
// <cluster>-host. A rule set replaces this table and nothing else, so
// K3s's own rules (kube-proxy, flannel, kube-router, in their iptables
// tables) are never touched.
func FirewallTable(c *model.Cluster) string { return c.Name + "-host" }

// firewalls renders each built node's nftables rule set.
func firewalls(m *model.Model, add func(string, []byte) error) error {
	for name, rules := range Firewalls(m) {
		if err := add(path.Join(name, FirewallFile), rules); err != nil {
			return err
		}
	}
	return nil
}

// Firewalls renders the host firewall of every built node, by node name.
func Firewalls(m *model.Model) map[string][]byte {
	in := newFirewallInputs(m)
	out := map[string][]byte{}
	for _, n := range m.Built {
		out[n.Name] = in.render(n)
	}
	return out
}

// firewallInputs is what every node's rule set is made of. It depends on
// the cluster only, so Firewalls computes it once for all nodes.
type firewallInputs struct {
	m                      *model.Model
	lbs                    []lbChain
	servers, agents, nodes []string
}

func newFirewallInputs(m *model.Model) *firewallInputs {
	in := &firewallInputs{m: m, lbs: loadBalancerChains(m)}
	var servers, agents, nodes []netip.Addr
	for _, n := range m.Built {
		nodes = append(nodes, n.IP)
		if n.Role == model.Server {
			servers = append(servers, n.IP)
		} else {
			agents = append(agents, n.IP)
		}
	}
	in.servers, in.agents, in.nodes = sortedAddrs(servers), sortedAddrs(agents), sortedAddrs(nodes)
	return in
}

// essentials are the ports K3s needs between its nodes to keep running:
// the etcd quorum (between the servers, when there are several), the
// API and the supervisor on the servers, the kubelet, and the flannel
// backend's tunnel. A rule set always opens them, from the nodes that
// need them, even where the model's nodePorts forget one: no rendered
// firewall can cut the etcd quorum or the joins. The rule says so.
func essentials(c *model.Model, role model.Role) []model.NodePort {
	var out []model.NodePort
	if len(c.Servers) > 1 && role == model.Server {
		out = append(out,
			model.NodePort{Port: etcdClientPort, Protocol: "TCP", Purpose: "etcd client", From: []string{fromServers}},
			model.NodePort{Port: etcdPeerPort, Protocol: "TCP", Purpose: "etcd peer", From: []string{fromServers}})
	}
	if role == model.Server && c.Network.APIPort != 0 {
		out = append(out, model.NodePort{Port: c.Network.APIPort, Protocol: "TCP", Purpose: "Kubernetes API and K3s supervisor", From: []string{fromNodes}})
	}
	out = append(out, model.NodePort{Port: kubeletPort, Protocol: "TCP", Purpose: "kubelet", From: []string{fromNodes}})
	if port, ok := flannelPorts[c.Network.FlannelBackend]; ok {
		out = append(out, model.NodePort{Port: port, Protocol: "UDP", Purpose: "flannel " + c.Network.FlannelBackend, From: []string{fromNodes}})
	}
	var missing []model.NodePort
	for _, np := range out {
		if !opens(c, role, np.Port, np.Protocol, np.From[0]) {
			np.On = []model.Role{role}
			missing = append(missing, np)
		}
	}
	return missing
}

// opens reports whether a node port opens the port on nodes of the role
// to every node of the kind (servers, or every node).
func opens(c *model.Model, role model.Role, port int, protocol, from string) bool {
	for _, np := range c.NodePorts {
		if np.Port != port || np.Protocol != protocol || !slices.Contains(np.On, role) {
			continue
		}
		if slices.Contains(np.From, from) || slices.Contains(np.From, fromNodes) || slices.Contains(np.From, fromLAN) ||
			(from == fromNodes && slices.Contains(np.From, fromServers) && slices.Contains(np.From, fromAgents)) {
			return true
		}
	}
	return false
}

// Firewall renders one node's host firewall: a complete table, deleted
// and created again in one transaction, so that loading it twice gives
// the same rules and no stale set or chain survives.
//
// Input is dropped but for: replies (established, related), loopback,
// ICMP, SSH from the LAN, what the pods send to the node (the pod and
// service ranges, arriving on the pods' interfaces only: the API through
// Service kubernetes, kubelet metrics, hostNetwork pods; see cniBridge),
// the model's node ports on this node's role from the
// nodes or the LAN they name, and the ports K3s cannot run without where
// the model forgets them (essentials).
//
// LoadBalancer IPs: MetalLB answers ARP for them on the node that holds
// each, and kube-proxy DNATs their traffic in prerouting to a pod, which
// the forward hook sees, not input. The forward chain keeps its accept
// policy (flannel, kube-proxy and kube-router own pod traffic) and drops
// only what comes from the LAN to a pod through any other door: a
// NodePort, or a route to the pod range. It matches the LoadBalancer IP
// and port in conntrack's original tuple, before the DNAT.
func Firewall(m *model.Model, n *model.Node) []byte {
	return newFirewallInputs(m).render(n)
}

// render writes node n's rule set.
func (in *firewallInputs) render(n *model.Node) []byte {
	c, lbs := in.m, in.lbs
	// Validate refuses CIDRs with host bits: each is its network.
	lan, pods, services := c.Network.LAN, c.Network.Pods, c.Network.Services
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	table := "inet " + FirewallTable(c.Cluster)
	w("# The host firewall of node %s (%s) of cluster %s. Only table %s is", n.Name, n.Role, c.Name, table)
	w("# replaced: K3s's own rules (kube-proxy, flannel, kube-router) live in other tables.")
	w("# Check it with nft -c -f, load it with nft -f; bootstrap/install.sh does both.")
	w("")
	w("table %s", table)
	w("delete table %s", table)
	w("")
	w("table %s {", table)
	w("\t# The model's addresses: the LAN, and the built nodes by role.")
	set(w, fromLAN, true, []string{lan.String()})
	set(w, fromServers, false, in.servers)
	set(w, fromAgents, false, in.agents)
	set(w, fromNodes, false, in.nodes)
	for _, ch := range lbs {
		w("")
		w("\t# LoadBalancer IPs and ports that %s may reach.", ch.source)
		w("\tchain %s {", ch.name)
		for _, r := range ch.rules {
			w("\t\t%s", r)
		}
		w("\t}")
	}
	w("")
	w("\tchain input {")
	w("\t\ttype filter hook input priority filter; policy drop;")
	w("\t\tct state established,related accept")
	w("\t\tct state invalid drop")
	w("\t\tiifname \"lo\" accept")
	w("\t\tmeta l4proto { icmp, ipv6-icmp } accept")
	ifaces := podInterfaces(c.Network.FlannelBackend)
	w("\t\tiifname %s ip saddr { %s, %s } accept comment \"what pods send to the node: the API, kubelet, hostNetwork pods\"", ifaces, pods, services)
	w("\t\tip saddr @%s tcp dport %d accept comment \"SSH from the LAN\"", fromLAN, c.Network.SSHPort)
	for _, np := range c.NodePorts {
		if !slices.Contains(np.On, n.Role) {
			continue
		}
		proto := strings.ToLower(np.Protocol)
		dest := ""
		if np.Port == c.Network.APIPort && np.Protocol == "TCP" && n.Role == model.Server {
			// kube-vip moves the API's virtual IP to one server at a time:
			// on that server, it is a local address too.
			dest = fmt.Sprintf("ip daddr { %s, %s } ", n.IP, c.Network.APIVIP)
		}
		for _, from := range np.From {
			w("\t\t%sip saddr @%s %s dport %d accept comment %s", dest, from, proto, np.Port, quote(np.Purpose+" from "+fromNames[from]))
		}
	}
	for _, np := range essentials(c, n.Role) {
		w("\t\tip saddr @%s %s dport %d accept comment %s", np.From[0], strings.ToLower(np.Protocol), np.Port,
			quote(np.Purpose+" from "+fromNames[np.From[0]]+" (K3s needs it; the model's nodePorts do not open it)"))
	}
	for _, ch := range lbs {
		w("\t\tip saddr %s jump %s comment \"LoadBalancer ports of hostNetwork pods\"", ch.source, ch.name)
	}
	w("\t\tcounter comment \"dropped by the policy: nothing above allows it\"")
	w("\t}")
	w("")
	w("\tchain forward {")
	w("\t\ttype filter hook forward priority filter; policy accept;")
	w("\t\tct state established,related accept")
	if _, tunnel := flannelTunnels[c.Network.FlannelBackend]; tunnel {
		w("\t\tiifname %s ip saddr %s accept comment \"pod traffic is kube-router's to judge\"", ifaces, pods)
	} else {
		w("\t\tip saddr %s accept comment \"pod traffic is kube-router's to judge (host-gw: other nodes' pods arrive on the LAN NIC)\"", pods)
	}
	w("\t\tip saddr @%s accept comment \"the nodes reach pods (flannel host-gw, webhooks)\"", fromNodes)
	for _, ch := range lbs {
		w("\t\tip saddr %s jump %s comment \"LoadBalancer ports, before kube-proxy's DNAT\"", ch.source, ch.name)
	}
	w("\t\tip daddr %s counter drop comment \"from outside, pods are reached through LoadBalancer ports only\"", pods)
	w("\t}")
	w("}")
	return b.Bytes()
}

func set(w func(string, ...any), name string, interval bool, elements []string) {
	w("\tset %s {", name)
	w("\t\ttype ipv4_addr")
	if interval {
		w("\t\tflags interval")
	}
	if len(elements) > 0 {
		w("\t\telements = { %s }", strings.Join(elements, ", "))
	}
	w("\t}")
}

func sortedAddrs(addrs []netip.Addr) []string {
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	addrs = slices.Compact(addrs)
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// quote writes a comment as an nftables string.
func quote(s string) string {
	return strconv.Quote(strings.ReplaceAll(s, `"`, "'"))
}

// lbChain is a chain of accept rules for LoadBalancer ports, which the
// input and forward chains jump to for one source: the LAN reaches every
// LoadBalancer port; an outside source other than the LAN reaches those
// its flows name. It matches conntrack's original destination, before
// kube-proxy's DNAT (a set cannot: nft refuses ct original proto-dst in
// a concatenation).
type lbChain struct {
	name   string
	source string // the saddr expression: @lan, or a CIDR
	rules  []lbRule
}

type lbRule struct {
	ip    netip.Addr
	proto string
	port  int
	what  string
}

func (r lbRule) String() string {
	return fmt.Sprintf("ct original ip daddr %s meta l4proto %s ct original proto-dst %d accept comment %s", r.ip, r.proto, r.port, quote(r.what))
}

func loadBalancerChains(m *model.Model) []lbChain {
	lanChain := lbChain{name: "loadbalancers-lan", source: "@" + fromLAN}
	others := map[string]*lbChain{}
	seen := map[string]bool{}
	add := func(ch *lbChain, r lbRule) {
		key := ch.name + " " + r.ip.String() + " " + r.proto + " " + strconv.Itoa(r.port)
		if !seen[key] {
			seen[key] = true
			ch.rules = append(ch.rules, r)
		}
	}
	for _, app := range m.Apps {
		for _, w := range app.Workloads {
			for _, lb := range w.LoadBalancers {
				for _, lp := range lb.Ports {
					p, _, _ := w.PortNamed(lp.Name) // the model's validation guarantees it
					add(&lanChain, lbRule{lb.IP, strings.ToLower(p.Protocol), lp.Port, app.Name + "/" + w.Name + " " + lp.Name})
				}
			}
		}
	}
	// Validate refuses CIDRs with host bits: equal networks are equal CIDRs.
	lan := m.Network.LAN
	for _, l := range m.Links {
		ext := l.From.External
		if ext == nil || lan == ext.CIDR {
			continue
		}
		ch, ok := others[ext.Name]
		if !ok {
			ch = &lbChain{name: "loadbalancers-from-" + ext.Name, source: ext.CIDR.String()}
			others[ext.Name] = ch
		}
		for _, lb := range l.To.Workload.LoadBalancers {
			for _, lp := range lb.Ports {
				if lp.Name == l.Port.Name {
					add(ch, lbRule{lb.IP, strings.ToLower(l.Port.Protocol), lp.Port, l.To.Key() + " " + lp.Name + ": " + l.Purpose})
				}
			}
		}
	}
	var out []lbChain
	for _, ch := range append([]*lbChain{&lanChain}, mapValues(others)...) {
		if len(ch.rules) == 0 {
			continue
		}
		slices.SortFunc(ch.rules, func(a, b lbRule) int {
			if c := a.ip.Compare(b.ip); c != 0 {
				return c
			}
			if c := strings.Compare(a.proto, b.proto); c != 0 {
				return c
			}
			return a.port - b.port
		})
		out = append(out, *ch)
	}
	return out
}

// mapValues returns the chains sorted by name.
func mapValues(m map[string]*lbChain) []*lbChain {
	var out []*lbChain
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}
