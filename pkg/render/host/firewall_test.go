package host_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/polylab/polylab-gitops/pkg/render/host"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// fwTiny is a small synthetic cluster on TEST-NET addresses: two servers
// and an agent on 192.0.2.0/24, a LoadBalancer on .240, SSH on 2222.
func fwTiny() *model.Cluster {
	c := &model.Cluster{
		Name: "tiny",
		Versions: model.Versions{K3s: "v1.35.7+k3s1", Flux: "v2.9.4",
			FluxOperator: model.Chart{Repository: "oci://registry.example/charts", Name: "flux-operator", Version: "0.59.0"}},
		Network: model.Network{LAN: pfx("192.0.2.0/24"), Pods: pfx("203.0.113.0/25"), Services: pfx("203.0.113.128/25"),
			APIVIP: ip("192.0.2.5"), APIPort: 6443, SSHPort: 2222, FlannelBackend: "vxlan",
			LoadBalancerPool: model.Pool{First: ip("192.0.2.240"), Last: ip("192.0.2.250")}},
		Nodes: []model.Node{
			{Name: "s1", IP: ip("192.0.2.11"), Role: model.Server},
			{Name: "s2", IP: ip("192.0.2.12"), Role: model.Server},
			{Name: "s3", IP: ip("192.0.2.13"), Role: model.Server},
			{Name: "a1", IP: ip("192.0.2.21"), Role: model.Agent},
			{Name: "later", Role: model.Agent, Planned: true},
		},
		NodePorts: []model.NodePort{
			{Port: 6443, Protocol: "TCP", Purpose: "Kubernetes API", On: []model.Role{model.Server}, From: []string{"nodes", "lan"}},
			{Port: 2379, Protocol: "TCP", Purpose: "etcd client", On: []model.Role{model.Server}, From: []string{"servers"}},
			{Port: 2380, Protocol: "TCP", Purpose: "etcd peer", On: []model.Role{model.Server}, From: []string{"servers"}},
			{Port: 10250, Protocol: "TCP", Purpose: "kubelet", On: []model.Role{model.Server, model.Agent}, From: []string{"nodes"}},
		},
		Externals: []model.External{{Name: "lan", CIDR: pfx("192.0.2.0/24")}, {Name: "vpn", CIDR: pfx("198.51.100.0/24")}},
		AppsByName: map[string]model.App{
			"web": {Name: "web", Namespace: "web", Component: "container", Workloads: []model.Workload{{
				Name: "web", Selector: map[string]string{"app": "web"},
				Ports:         []model.Port{{Name: "http", Port: 80, TargetPort: 8080, Protocol: "TCP"}, {Name: "admin", Port: 81, TargetPort: 8081, Protocol: "TCP"}},
				LoadBalancers: []model.LoadBalancer{{IP: ip("192.0.2.240"), Ports: []model.LBPort{{Name: "http", Port: 80}, {Name: "admin", Port: 81}}}},
			}}},
		},
		Flows: []model.Flow{
			{From: "vpn", To: "web", Port: model.FlowPort{Name: "http"}, Purpose: "remote browsers"},
			{From: "lan", To: "web", Port: model.FlowPort{Name: "admin"}, Purpose: "the admin page"},
		},
	}
	return c
}

func fwRender(t *testing.T, c *model.Cluster) map[string][]byte {
	t.Helper()
	return host.Firewalls(validate(t, c))
}

// fwRules returns the rules of a chain, one a line, without comments.
func fwRules(t *testing.T, ruleset []byte, chain string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?s)\n\tchain ` + regexp.QuoteMeta(chain) + ` \{\n(.*?)\n\t\}`).FindSubmatch(ruleset)
	if m == nil {
		t.Fatalf("no chain %s in:\n%s", chain, ruleset)
	}
	var out []string
	for _, line := range strings.Split(string(m[1]), "\n") {
		line, _, _ = strings.Cut(strings.TrimSpace(line), " comment ")
		out = append(out, line)
	}
	return out
}

func fwHas(t *testing.T, rules []string, want string) {
	t.Helper()
	for _, r := range rules {
		if r == want {
			return
		}
	}
	t.Errorf("no rule %q among:\n  %s", want, strings.Join(rules, "\n  "))
}

func fwHasNot(t *testing.T, rules []string, prefix string) {
	t.Helper()
	for _, r := range rules {
		if strings.Contains(r, prefix) {
			t.Errorf("rule %q should not be there", r)
		}
	}
}

// TestFirewallPolylab checks each built node's rule set against what the
// model says, whatever it says: the owner adds nodes, ports and
// LoadBalancers (README, How to), and the rules follow.
func TestFirewallPolylab(t *testing.T) {
	c := load(t, "polylab")
	m := validate(t, c)
	files := fwRender(t, c)
	if len(files) != len(m.Built) {
		t.Fatalf("%d firewalls, want one per built node (%d)", len(files), len(m.Built))
	}
	net := c.Network
	pods, services := net.Pods.Masked(), net.Services.Masked()
	ifaces := map[string]string{"vxlan": `{ "cni0", "flannel.1" }`, "wireguard-native": `{ "cni0", "flannel-wg" }`, "host-gw": `"cni0"`}[net.FlannelBackend]
	var servers, agents []string
	for _, n := range m.Built {
		if n.Role == model.Server {
			servers = append(servers, n.IP.String())
		} else {
			agents = append(agents, n.IP.String())
		}
	}
	// Every LoadBalancer port of the model, which the LAN may reach.
	var lbPorts []string
	for _, app := range m.Apps {
		for _, w := range app.Workloads {
			for _, lb := range w.LoadBalancers {
				for _, lp := range lb.Ports {
					p, _, _ := w.PortNamed(lp.Name)
					rule := fmt.Sprintf("ct original ip daddr %s meta l4proto %s ct original proto-dst %d accept", lb.IP, strings.ToLower(p.Protocol), lp.Port)
					if !slices.Contains(lbPorts, rule) {
						lbPorts = append(lbPorts, rule)
					}
				}
			}
		}
	}
	table := "inet " + c.Name + "-host"
	if got := "inet " + host.FirewallTable(c); got != table {
		t.Errorf("table %s, want %s", got, table)
	}
	for _, n := range m.Built {
		b, ok := files[n.Name]
		if !ok {
			t.Errorf("built node %s has no firewall", n.Name)
			continue
		}
		// Created, deleted and created again: applying twice changes nothing,
		// and only this table is touched.
		if !bytes.Contains(b, []byte("\ntable "+table+"\ndelete table "+table+"\n\ntable "+table+" {\n")) || bytes.Contains(b, []byte("flush ruleset")) {
			t.Errorf("%s: the rule set does not replace exactly its own table", n.Name)
		}
		input := fwRules(t, b, "input")
		if input[0] != "type filter hook input priority filter; policy drop;" {
			t.Errorf("%s: input chain starts %q, want a drop policy", n.Name, input[0])
		}
		fwHas(t, input, "ct state established,related accept")
		fwHas(t, input, `iifname "lo" accept`)
		fwHas(t, input, fmt.Sprintf("ip saddr @lan tcp dport %d accept", net.SSHPort))
		// Pod and service sources only from the pods' bridge and the tunnel.
		fwHas(t, input, fmt.Sprintf("iifname %s ip saddr { %s, %s } accept", ifaces, pods, services))
		for _, np := range c.NodePorts {
			proto := strings.ToLower(np.Protocol)
			if !slices.Contains(np.On, n.Role) {
				if !slices.ContainsFunc(c.NodePorts, func(o model.NodePort) bool {
					return o.Port == np.Port && o.Protocol == np.Protocol && slices.Contains(o.On, n.Role)
				}) {
					fwHasNot(t, input, fmt.Sprintf("%s dport %d ", proto, np.Port))
				}
				continue
			}
			for _, from := range np.From {
				if np.Port == net.APIPort && np.Protocol == "TCP" && n.Role == model.Server {
					fwHas(t, input, fmt.Sprintf("ip daddr { %s, %s } ip saddr @%s tcp dport %d accept", n.IP, net.APIVIP, from, np.Port))
				} else {
					fwHas(t, input, fmt.Sprintf("ip saddr @%s %s dport %d accept", from, proto, np.Port))
				}
			}
		}
		fwHas(t, input, "ip saddr @lan jump loadbalancers-lan")
		forward := fwRules(t, b, "forward")
		if forward[0] != "type filter hook forward priority filter; policy accept;" {
			t.Errorf("%s: forward chain starts %q; it must keep the accept policy", n.Name, forward[0])
		}
		fwHas(t, forward, fmt.Sprintf("iifname %s ip saddr %s accept", ifaces, pods))
		fwHas(t, forward, "ip saddr @lan jump loadbalancers-lan")
		fwHas(t, forward, fmt.Sprintf("ip daddr %s counter drop", pods))
		lbs := fwRules(t, b, "loadbalancers-lan")
		for _, rule := range lbPorts {
			fwHas(t, lbs, rule)
		}
		if len(lbs) != len(lbPorts) {
			t.Errorf("%s: %d LoadBalancer ports, want the %d of the model", n.Name, len(lbs), len(lbPorts))
		}
		for _, set := range []string{"set servers {\n\t\ttype ipv4_addr\n\t\telements = { " + strings.Join(servers, ", ") + " }\n\t}",
			"set agents {\n\t\ttype ipv4_addr\n\t\telements = { " + strings.Join(agents, ", ") + " }\n\t}",
			"set lan {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { " + net.LAN.Masked().String() + " }\n\t}"} {
			if !bytes.Contains(b, []byte(set)) {
				t.Errorf("%s lacks %s", n.Name, set)
			}
		}
	}
	for _, n := range c.Nodes {
		if _, ok := files[n.Name]; ok && n.Planned {
			t.Errorf("planned node %s has a firewall", n.Name)
		}
	}
	// The same model renders the same bytes.
	again := fwRender(t, c)
	for name, b := range files {
		if !bytes.Equal(b, again[name]) {
			t.Errorf("%s differs between two renders", name)
		}
	}
}

func TestFirewallTiny(t *testing.T) {
	c := fwTiny()
	files := fwRender(t, c)
	s1, a1 := files["s1"], files["a1"]
	fwHas(t, fwRules(t, s1, "input"), "ip saddr @lan tcp dport 2222 accept")
	// The model opens no VXLAN port: the backend's port is added.
	fwHas(t, fwRules(t, a1, "input"), "ip saddr @nodes udp dport 8472 accept")
	// The VPN reaches the one LoadBalancer port its flow names, the LAN both.
	fwHas(t, fwRules(t, s1, "loadbalancers-from-vpn"), "ct original ip daddr 192.0.2.240 meta l4proto tcp ct original proto-dst 80 accept")
	if n := len(fwRules(t, s1, "loadbalancers-from-vpn")); n != 1 {
		t.Errorf("the VPN reaches %d LoadBalancer ports, want 1", n)
	}
	if n := len(fwRules(t, s1, "loadbalancers-lan")); n != 2 {
		t.Errorf("the LAN reaches %d LoadBalancer ports, want 2", n)
	}
	fwHas(t, fwRules(t, s1, "forward"), "ip saddr 198.51.100.0/24 jump loadbalancers-from-vpn")
	if !bytes.Contains(a1, []byte("set agents {\n\t\ttype ipv4_addr\n\t\telements = { 192.0.2.21 }\n\t}")) {
		t.Errorf("a1's agents set:\n%s", a1)
	}
	if _, ok := files["later"]; ok {
		t.Error("the planned node has a firewall")
	}
}

// The pod and service ranges are accepted only on the interfaces pods
// arrive on, per flannel backend: a LAN host forging a pod source gets
// nothing. host-gw has no tunnel: the input accept keeps to cni0 (other
// nodes' pods reach the node masqueraded as their node), and the forward
// accept cannot be bound, because other nodes' pods arrive on the LAN NIC.
func TestFirewallPodSourcesAreBoundToCNIInterfaces(t *testing.T) {
	for backend, want := range map[string]struct{ input, forward string }{
		"vxlan": {`iifname { "cni0", "flannel.1" } ip saddr { 203.0.113.0/25, 203.0.113.128/25 } accept`,
			`iifname { "cni0", "flannel.1" } ip saddr 203.0.113.0/25 accept`},
		"wireguard-native": {`iifname { "cni0", "flannel-wg" } ip saddr { 203.0.113.0/25, 203.0.113.128/25 } accept`,
			`iifname { "cni0", "flannel-wg" } ip saddr 203.0.113.0/25 accept`},
		"host-gw": {`iifname "cni0" ip saddr { 203.0.113.0/25, 203.0.113.128/25 } accept`,
			`ip saddr 203.0.113.0/25 accept`},
	} {
		c := fwTiny()
		c.Network.FlannelBackend = backend
		files := fwRender(t, c)
		for _, node := range []string{"s1", "a1"} {
			input, forward := fwRules(t, files[node], "input"), fwRules(t, files[node], "forward")
			fwHas(t, input, want.input)
			fwHas(t, forward, want.forward)
			for _, r := range input {
				if strings.HasPrefix(r, "ip saddr { 203.0.113.0/25") {
					t.Errorf("%s %s: pod sources accepted on any interface: %s", backend, node, r)
				}
			}
		}
		if backend == "host-gw" && !bytes.Contains(files["s1"], []byte("host-gw: other nodes' pods arrive on the LAN NIC")) {
			t.Errorf("host-gw: the unbound forward accept does not say why")
		}
		nftCheck(t, files)
	}
}

// A rule set never cuts the etcd quorum, the joins, the kubelet or the
// pod network: what K3s needs and the model's nodePorts forget is opened
// anyway, and the rule's comment says so.
func TestFirewallKeepsTheClusterUp(t *testing.T) {
	c := fwTiny()
	c.NodePorts = nil
	files := fwRender(t, c)
	server, agent := fwRules(t, files["s1"], "input"), fwRules(t, files["a1"], "input")
	for _, want := range []string{
		"ip saddr @servers tcp dport 2379 accept", "ip saddr @servers tcp dport 2380 accept",
		"ip saddr @nodes tcp dport 6443 accept", "ip saddr @nodes tcp dport 10250 accept", "ip saddr @nodes udp dport 8472 accept",
	} {
		fwHas(t, server, want)
	}
	fwHas(t, agent, "ip saddr @nodes tcp dport 10250 accept")
	fwHas(t, agent, "ip saddr @nodes udp dport 8472 accept")
	fwHasNot(t, agent, "dport 2379")
	fwHasNot(t, agent, "dport 6443")
	if !bytes.Contains(files["s1"], []byte(`tcp dport 2379 accept comment "etcd client from the servers (K3s needs it; the model's nodePorts do not open it)"`)) {
		t.Errorf("the derived etcd rule does not say why it is there:\n%s", files["s1"])
	}
	// One server has no etcd peer; host-gw has no tunnel port.
	c.Nodes = []model.Node{c.Nodes[0], c.Nodes[3]}
	c.Network.FlannelBackend = "host-gw"
	files = fwRender(t, c)
	fwHasNot(t, fwRules(t, files["s1"], "input"), "dport 2379")
	fwHasNot(t, fwRules(t, files["s1"], "input"), "dport 8472")
	// When the model opens them, nothing is added.
	for _, b := range fwRender(t, load(t, "polylab")) {
		if bytes.Contains(b, []byte("K3s needs it")) {
			t.Errorf("polylab's nodePorts open every port K3s needs, yet a rule was added:\n%s", b)
		}
	}
}

// nftCheck runs nft -c -f (check mode: nothing is applied) in a network
// namespace of its own. It skips only when no namespace can be made.
func nftCheck(t *testing.T, files map[string][]byte) {
	t.Helper()
	nft, err := exec.LookPath("nft")
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			if _, err := os.Stat(filepath.Join(dir, "nft")); err == nil {
				nft = filepath.Join(dir, "nft")
			}
		}
	}
	if nft == "" {
		t.Skip("nft is not installed (hack/ensure-tools.sh nftables installs it)")
	}
	// A new network namespace: as root, or as a user mapped to root in a
	// user namespace of its own.
	prefix := []string{"unshare", "--net"}
	if os.Geteuid() != 0 {
		prefix = []string{"unshare", "--user", "--map-root-user", "--net"}
	}
	if out, err := exec.Command(prefix[0], append(prefix[1:], "true")...).CombinedOutput(); err != nil {
		t.Skipf("no network namespace for nft -c (%s: %v: %s); run as root", strings.Join(prefix, " "), err, bytes.TrimSpace(out))
	}
	dir := t.TempDir()
	for name, b := range files {
		file := filepath.Join(dir, name+".nft")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		args := append(prefix[1:], nft, "-c", "-f", file)
		if out, err := exec.Command(prefix[0], args...).CombinedOutput(); err != nil {
			t.Errorf("nft -c -f %s: %v\n%s\n--- rule set ---\n%s", name, err, out, b)
		}
	}
}

func TestFirewallNftCheck(t *testing.T) {
	files := fwRender(t, load(t, "polylab"))
	for name, b := range fwRender(t, fwTiny()) {
		files["tiny-"+name] = b
	}
	nftCheck(t, files)
}

// The rendered polylab tree holds each built node's firewall in its folder.
func TestFirewallFiles(t *testing.T) {
	m := validate(t, load(t, "polylab"))
	files, err := host.Files(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range m.Built {
		if _, ok := files[n.Name+"/"+host.FirewallFile]; !ok {
			t.Errorf("no %s/%s", n.Name, host.FirewallFile)
		}
	}
}
