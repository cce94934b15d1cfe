package host_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/polylab/polylab-gitops/pkg/render/host"
)

// The netns test loads a rendered firewall into a network namespace that
// plays node s1 of the synthetic cluster (fwTiny), and connects to it from
// a namespace that plays the LAN, with the addresses of other nodes, of a
// plain LAN host and of a host outside the LAN. A third namespace plays a
// pod behind the node, which forwards to it as kube-proxy would: a
// LoadBalancer IP and a NodePort, both DNATed to the pod. Every address
// is from the TEST-NET ranges and lives only in those namespaces.
//
//	lan namespace                     node namespace (s1)                pod namespace
//	192.0.2.12 (server s2)            192.0.2.11, 192.0.2.5 (VIP)        203.0.113.10
//	192.0.2.21 (agent a1)   <veth>    203.0.113.1 on cni0     <veth>     default via 203.0.113.1
//	192.0.2.50 (LAN host)             DNAT 192.0.2.240:80 -> pod:8080
//	198.51.100.7 (outside)            DNAT 192.0.2.11:30080 -> pod:8080
//	203.0.113.99 (a LAN host forging a pod address)
//
// The node's end of the pod veth is named cni0, as K3s's bridge is: the
// rule set accepts pod sources on cni0 (and the tunnel) only.

// helperEnv makes the test binary a helper inside a namespace: it
// listens (listen:tcp/2222,udp/8472,...) or probes (probe:<json>).
const helperEnv = "POLYLAB_NETNS_HELPER"

// probeTimeout bounds a connection attempt: a dropped SYN times out.
const probeTimeout = 300 * time.Millisecond

type probe struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Port  int    `json:"port"`
	Proto string `json:"proto"`
	Open  bool   `json:"open"` // what the firewall should do
	Got   bool   `json:"got"`  // what the probe found
	Why   string `json:"why"`
	Error string `json:"error,omitempty"`
}

// TestNetnsHelper is not a test: it is the helper process the netns test
// runs inside its namespaces.
func TestNetnsHelper(t *testing.T) {
	mode, arg, ok := strings.Cut(os.Getenv(helperEnv), ":")
	if !ok {
		t.Skip("the netns test's helper process; runs only inside its namespaces")
	}
	switch mode {
	case "listen":
		listen(arg)
	case "probe":
		var probes []probe
		if err := json.Unmarshal([]byte(arg), &probes); err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
		for i := range probes {
			probes[i].Got, probes[i].Error = dial(probes[i])
		}
		_ = json.NewEncoder(os.Stdout).Encode(probes)
	}
	os.Exit(0)
}

// listen serves every tcp/PORT and udp/PORT (echo) given, says "ready",
// and serves until its stdin closes.
func listen(spec string) {
	for _, s := range strings.Split(spec, ",") {
		proto, port, _ := strings.Cut(s, "/")
		switch proto {
		case "tcp":
			l, err := net.Listen("tcp4", ":"+port)
			if err != nil {
				fmt.Println("error:", err)
				os.Exit(2)
			}
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					_, _ = c.Write([]byte("hello\n"))
					_ = c.Close()
				}
			}()
		case "udp":
			pc, err := net.ListenPacket("udp4", ":"+port)
			if err != nil {
				fmt.Println("error:", err)
				os.Exit(2)
			}
			go func() {
				buf := make([]byte, 64)
				for {
					n, addr, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					_, _ = pc.WriteTo(buf[:n], addr)
				}
			}()
		}
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// dial reports whether the port answers from the source address: a TCP
// connection that delivers the greeting, or a UDP echo.
func dial(p probe) (bool, string) {
	local := &net.TCPAddr{IP: net.ParseIP(p.From)}
	remote := net.JoinHostPort(p.To, strconv.Itoa(p.Port))
	if p.Proto == "udp" {
		conn, err := (&net.Dialer{LocalAddr: &net.UDPAddr{IP: local.IP}}).Dial("udp4", remote)
		if err != nil {
			return false, err.Error()
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(probeTimeout))
		if _, err := conn.Write([]byte("ping")); err != nil {
			return false, err.Error()
		}
		buf := make([]byte, 8)
		n, err := conn.Read(buf)
		if err != nil {
			return false, err.Error()
		}
		return string(buf[:n]) == "ping", ""
	}
	conn, err := (&net.Dialer{LocalAddr: local, Timeout: probeTimeout}).Dial("tcp4", remote)
	if err != nil {
		return false, err.Error()
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(probeTimeout))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return false, err.Error()
	}
	return line == "hello\n", ""
}

// netns runs commands in the test's namespaces and removes them at the end.
type netns struct {
	t      *testing.T
	prefix string
	ip     string
	nft    string
}

func (n *netns) name(role string) string { return n.prefix + role }

func (n *netns) run(args ...string) {
	n.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		n.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// in runs a command in a namespace.
func (n *netns) in(role string, args ...string) {
	n.t.Helper()
	n.run(append([]string{n.ip, "netns", "exec", n.name(role)}, args...)...)
}

func lookTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name)
		}
	}
	return ""
}

func TestFirewallInNetworkNamespaces(t *testing.T) {
	if os.Getenv(helperEnv) != "" {
		t.Skip("inside a helper")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: it creates network namespaces, veth pairs and nftables rules (run as root, e.g. in CI's container)")
	}
	ipTool, nftTool := lookTool("ip"), lookTool("nft")
	switch {
	case ipTool == "":
		t.Skip("needs the ip command (iproute2)")
	case nftTool == "":
		t.Skip("needs nft (hack/ensure-tools.sh nftables installs it)")
	}
	n := &netns{t: t, prefix: fmt.Sprintf("fw%d", os.Getpid()%100000), ip: ipTool, nft: nftTool}
	if out, err := exec.Command(ipTool, "netns", "add", n.name("n")).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace (no privilege for it here): ip netns add: %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		for _, role := range []string{"n", "l", "p"} {
			_ = exec.Command(ipTool, "netns", "del", n.name(role)).Run()
		}
	})
	n.run(ipTool, "netns", "add", n.name("l"))
	n.run(ipTool, "netns", "add", n.name("p"))

	// Wiring: lan <-> node <-> pod.
	nodeLAN, lanNode, nodePod, podNode := n.prefix+"nl", n.prefix+"ln", "cni0", n.prefix+"pn"
	n.in("n", ipTool, "link", "add", nodeLAN, "type", "veth", "peer", "name", lanNode)
	n.in("n", ipTool, "link", "set", lanNode, "netns", n.name("l"))
	n.in("n", ipTool, "link", "add", nodePod, "type", "veth", "peer", "name", podNode)
	n.in("n", ipTool, "link", "set", podNode, "netns", n.name("p"))
	for _, step := range [][]string{
		{"n", ipTool, "link", "set", "lo", "up"},
		{"n", ipTool, "link", "set", nodeLAN, "up"},
		{"n", ipTool, "link", "set", nodePod, "up"},
		{"n", ipTool, "addr", "add", "192.0.2.11/24", "dev", nodeLAN},
		{"n", ipTool, "addr", "add", "192.0.2.5/32", "dev", nodeLAN},
		{"n", ipTool, "addr", "add", "203.0.113.1/25", "dev", nodePod},
		{"n", ipTool, "route", "add", "198.51.100.0/24", "dev", nodeLAN},
		{"n", ipTool, "route", "add", "203.0.113.99/32", "dev", nodeLAN},
		{"n", "sysctl", "-qw", "net.ipv4.ip_forward=1"},
		{"l", ipTool, "link", "set", "lo", "up"},
		{"l", ipTool, "link", "set", lanNode, "up"},
		{"l", ipTool, "addr", "add", "192.0.2.12/24", "dev", lanNode},
		{"l", ipTool, "addr", "add", "192.0.2.21/24", "dev", lanNode},
		{"l", ipTool, "addr", "add", "192.0.2.50/24", "dev", lanNode},
		{"l", ipTool, "addr", "add", "198.51.100.7/24", "dev", lanNode},
		{"l", ipTool, "addr", "add", "203.0.113.99/32", "dev", lanNode},
		{"l", ipTool, "route", "add", "192.0.2.240/32", "via", "192.0.2.11"},
		{"l", ipTool, "route", "add", "203.0.113.0/25", "via", "192.0.2.11"},
		{"p", ipTool, "link", "set", "lo", "up"},
		{"p", ipTool, "link", "set", podNode, "up"},
		{"p", ipTool, "addr", "add", "203.0.113.10/25", "dev", podNode},
		{"p", ipTool, "route", "add", "default", "via", "203.0.113.1"},
		// The forged pod address is in the pod's own subnet: reach it through the node.
		{"p", ipTool, "route", "add", "203.0.113.99/32", "via", "203.0.113.1"},
	} {
		n.in(step[0], step[1:]...)
	}

	// The rendered firewall of s1, loaded twice (it must replace itself),
	// and a stand-in for kube-proxy's DNAT.
	c := fwTiny()
	rules := fwRender(t, c)
	dir := t.TempDir()
	file := filepath.Join(dir, "s1.nft")
	if err := os.WriteFile(file, rules["s1"], 0o644); err != nil {
		t.Fatal(err)
	}
	n.in("n", nftTool, "-c", "-f", file)
	n.in("n", nftTool, "-f", file)
	first, _ := exec.Command(ipTool, "netns", "exec", n.name("n"), nftTool, "list", "table", "inet", host.FirewallTable(c)).Output()
	n.in("n", nftTool, "-f", file)
	second, _ := exec.Command(ipTool, "netns", "exec", n.name("n"), nftTool, "list", "table", "inet", host.FirewallTable(c)).Output()
	if !bytes.Equal(first, second) || len(first) == 0 {
		t.Errorf("loading the rule set twice changes it:\n%s\n---\n%s", first, second)
	}
	kubeProxy := filepath.Join(dir, "kube-proxy.nft")
	if err := os.WriteFile(kubeProxy, []byte(`table ip kube-proxy-standin {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 192.0.2.240 tcp dport 80 dnat to 203.0.113.10:8080
		ip daddr 192.0.2.240 tcp dport 81 dnat to 203.0.113.10:8081
		ip daddr 192.0.2.11 tcp dport 30080 dnat to 203.0.113.10:8080
	}
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	n.in("n", nftTool, "-f", kubeProxy)

	// Listeners: the node's ports, and the pod's.
	nodePorts := "tcp/2222,tcp/6443,tcp/2379,tcp/2380,tcp/10250,tcp/9999,udp/8472"
	startListener(t, n, "n", nodePorts)
	startListener(t, n, "p", "tcp/8080,tcp/8081")

	probes := []probe{
		{From: "192.0.2.50", To: "192.0.2.11", Port: 2222, Open: true, Why: "SSH on the model's port from the LAN"},
		{From: "198.51.100.7", To: "192.0.2.11", Port: 2222, Why: "SSH from outside the LAN"},
		{From: "192.0.2.50", To: "192.0.2.11", Port: 6443, Open: true, Why: "the API from the LAN"},
		{From: "192.0.2.50", To: "192.0.2.5", Port: 6443, Open: true, Why: "the API on the VIP from the LAN"},
		{From: "192.0.2.21", To: "192.0.2.5", Port: 6443, Open: true, Why: "the API on the VIP from an agent"},
		{From: "198.51.100.7", To: "192.0.2.11", Port: 6443, Why: "the API from outside the LAN"},
		{From: "192.0.2.12", To: "192.0.2.11", Port: 2379, Open: true, Why: "etcd client from a server"},
		{From: "192.0.2.12", To: "192.0.2.11", Port: 2380, Open: true, Why: "etcd peer from a server"},
		{From: "192.0.2.21", To: "192.0.2.11", Port: 2379, Why: "etcd from an agent"},
		{From: "192.0.2.50", To: "192.0.2.11", Port: 2380, Why: "etcd from the LAN"},
		{From: "192.0.2.21", To: "192.0.2.11", Port: 10250, Open: true, Why: "kubelet from a node"},
		{From: "192.0.2.50", To: "192.0.2.11", Port: 10250, Why: "kubelet from the LAN"},
		{From: "192.0.2.21", To: "192.0.2.11", Port: 8472, Proto: "udp", Open: true, Why: "VXLAN from a node"},
		{From: "192.0.2.50", To: "192.0.2.11", Port: 8472, Proto: "udp", Why: "VXLAN from the LAN"},
		{From: "192.0.2.12", To: "192.0.2.11", Port: 9999, Why: "a port the model does not open, from a server"},
		{From: "192.0.2.50", To: "192.0.2.240", Port: 80, Open: true, Why: "the LoadBalancer port from the LAN (DNAT to the pod)"},
		{From: "198.51.100.7", To: "192.0.2.240", Port: 80, Open: true, Why: "the LoadBalancer port from the VPN, which a flow names"},
		{From: "192.0.2.50", To: "192.0.2.240", Port: 81, Open: true, Why: "the other LoadBalancer port from the LAN"},
		{From: "198.51.100.7", To: "192.0.2.240", Port: 81, Why: "the other LoadBalancer port from the VPN, which no flow names"},
		{From: "192.0.2.50", To: "192.0.2.11", Port: 30080, Why: "a NodePort from the LAN (DNAT to the same pod)"},
		{From: "192.0.2.50", To: "203.0.113.10", Port: 8080, Why: "the pod directly from the LAN"},
		{From: "192.0.2.12", To: "203.0.113.10", Port: 8080, Open: true, Why: "the pod directly from a node"},
		{From: "203.0.113.99", To: "192.0.2.11", Port: 9999, Why: "a LAN host forging a pod address, to the node"},
		{From: "203.0.113.99", To: "192.0.2.11", Port: 10250, Why: "a LAN host forging a pod address, to kubelet"},
		{From: "203.0.113.99", To: "203.0.113.10", Port: 8080, Why: "a LAN host forging a pod address, to a pod"},
	}
	podProbes := []probe{
		{From: "203.0.113.10", To: "192.0.2.11", Port: 9999, Open: true, Why: "a pod reaches the node (the API, kubelet, hostNetwork pods)"},
	}
	results := append(runProbes(t, n, "l", probes), runProbes(t, n, "p", podProbes)...)
	var report []string
	for _, r := range results {
		state := map[bool]string{true: "open", false: "closed"}
		line := fmt.Sprintf("%-13s -> %s:%d/%s %s, want %s: %s", r.From, r.To, r.Port, r.Proto, state[r.Got], state[r.Open], r.Why)
		report = append(report, line)
		if r.Got != r.Open {
			t.Errorf("%s (%s)", line, r.Error)
		}
	}
	t.Logf("%d probes:\n  %s", len(results), strings.Join(report, "\n  "))

	// Without the firewall every closed port answers: it was the firewall
	// that closed them, not the wiring.
	n.in("n", nftTool, "delete", "table", "inet", host.FirewallTable(c))
	var closed []probe
	for _, p := range probes {
		if !p.Open {
			p.Open = true
			closed = append(closed, p)
		}
	}
	for _, r := range runProbes(t, n, "l", closed) {
		if !r.Got {
			t.Errorf("without the firewall, %s -> %s:%d/%s still does not answer (%s): the test's wiring is wrong", r.From, r.To, r.Port, r.Proto, r.Error)
		}
	}
}

func startListener(t *testing.T, n *netns, role, spec string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(n.ip, "netns", "exec", n.name(role), self, "-test.run=^TestNetnsHelper$")
	cmd.Env = append(os.Environ(), helperEnv+"=listen:"+spec)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("listener in %s: %q, %v", role, line, err)
	}
}

func runProbes(t *testing.T, n *netns, role string, probes []probe) []probe {
	t.Helper()
	for i := range probes {
		if probes[i].Proto == "" {
			probes[i].Proto = "tcp"
		}
	}
	want, err := json.Marshal(probes)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(n.ip, "netns", "exec", n.name(role), self, "-test.run=^TestNetnsHelper$")
	cmd.Env = append(os.Environ(), helperEnv+"=probe:"+string(want))
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("probes in %s: %v\n%s\n%s", role, err, out, exit.Stderr)
	}
	var got []probe
	// The helper's JSON is its first output line; the test framework may
	// print more after it.
	first, _, _ := bytes.Cut(out, []byte("\n"))
	if err := json.Unmarshal(first, &got); err != nil || len(got) != len(probes) {
		t.Fatalf("probes in %s: %v\n%s", role, err, out)
	}
	return got
}
