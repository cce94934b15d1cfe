package host_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	cuemodule "github.com/polylab/polylab-gitops/cue"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/host"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// load reads a cluster of the project's own CUE module, as data a test
// may change before validate makes it a Model.
func load(t *testing.T, name string) *model.Cluster {
	t.Helper()
	m, err := render.Load(render.Source{FS: cuemodule.FS, Display: "cue"}, name)
	if err != nil {
		t.Fatal(err)
	}
	return m.Cluster
}

// validate checks a cluster and returns its Model, failing the test on a problem.
func validate(t *testing.T, c *model.Cluster) *model.Model {
	t.Helper()
	m, err := model.Validate(c)
	if err != nil {
		t.Fatalf("the test's cluster is invalid: %v", err)
	}
	return m
}

// ip and pfx parse the addresses of clusters built in Go.
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }
func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// rendered is a cluster's host files, by path relative to hosts/.
type rendered struct {
	t     *testing.T
	c     *model.Cluster
	files map[string][]byte
}

func renderHosts(t *testing.T, c *model.Cluster) rendered {
	t.Helper()
	files, err := host.Files(validate(t, c))
	if err != nil {
		t.Fatal(err)
	}
	return rendered{t, c, files}
}

func (r rendered) file(name string) []byte {
	r.t.Helper()
	b, ok := r.files[name]
	if !ok {
		r.t.Fatalf("no file %s; rendered: %s", name, strings.Join(host.Paths(r.files), ", "))
	}
	return b
}

// config decodes a node's K3s config strictly: a key the struct lacks fails.
func (r rendered) config(node string) host.K3sConfig {
	r.t.Helper()
	var cfg host.K3sConfig
	if err := yaml.UnmarshalStrict(r.file(path.Join(node, host.K3sConfigFile)), &cfg); err != nil {
		r.t.Fatalf("%s: %v", node, err)
	}
	return cfg
}

func (r rendered) env(name string) map[string]string {
	r.t.Helper()
	return parseEnv(r.t, name, r.file(name))
}

func (r rendered) nodeEnv(node string) map[string]string {
	r.t.Helper()
	return r.env(path.Join(node, host.NodeEnvFile))
}

// parseEnv reads the KEY='value' lines of an env file, as a shell would.
func parseEnv(t *testing.T, name string, b []byte) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		key, quoted, ok := strings.Cut(line, "=")
		if !ok || len(quoted) < 2 || quoted[0] != '\'' || quoted[len(quoted)-1] != '\'' {
			t.Fatalf("%s:%d: %q is not KEY='value'", name, i+1, line)
		}
		inner := quoted[1 : len(quoted)-1]
		if strings.Contains(strings.ReplaceAll(inner, `'\''`, ""), "'") {
			t.Fatalf("%s:%d: %q has an unescaped quote", name, i+1, line)
		}
		vars[key] = strings.ReplaceAll(inner, `'\''`, "'")
	}
	return vars
}

// installOrder is the order the bootstrap must follow, derived here from
// the model independently of the renderer: servers, then agents, each in
// model order, planned nodes left out.
func installOrder(c *model.Cluster) []model.Node {
	var servers, agents []model.Node
	for _, n := range c.Nodes {
		switch {
		case n.Planned:
		case n.Role == model.Server:
			servers = append(servers, n)
		default:
			agents = append(agents, n)
		}
	}
	return append(servers, agents...)
}

func apiURL(t *testing.T, c *model.Cluster, host netip.Addr) string {
	t.Helper()
	return fmt.Sprintf("https://%s:%d", host, c.Network.APIPort)
}

// TestJoinOrderIsQuorumSafe: the first server starts etcd, the other
// servers join one at a time in model order through the VIP, and the
// agents come after every server; each node's plan names its neighbours.
func TestJoinOrderIsQuorumSafe(t *testing.T) {
	c := load(t, "polylab")
	r := renderHosts(t, c)
	order := installOrder(c)
	var names []string
	for _, n := range order {
		names = append(names, n.Name)
	}
	if got := r.env(host.NodesEnvFile)["NODES"]; got != strings.Join(names, " ") {
		t.Errorf("nodes.env NODES = %q, want %q", got, strings.Join(names, " "))
	}
	if order[0].Role != model.Server {
		t.Fatalf("the first node to install, %s, is not a server", order[0].Name)
	}
	vip := apiURL(t, c, c.Network.APIVIP)
	for i, n := range order {
		cfg, env := r.config(n.Name), r.nodeEnv(n.Name)
		first := i == 0
		if cfg.ClusterInit != first {
			t.Errorf("%s: cluster-init = %v, want %v", n.Name, cfg.ClusterInit, first)
		}
		if first && cfg.Server != "" {
			t.Errorf("%s starts the cluster, yet joins %s", n.Name, cfg.Server)
		}
		if !first && cfg.Server != vip {
			t.Errorf("%s: server = %q, want the VIP %s", n.Name, cfg.Server, vip)
		}
		want := map[string]string{
			"NODE_NAME": n.Name, "NODE_IP": n.IP.String(), "NODE_ROLE": string(n.Role), "NODE_ARCH": n.Arch,
			"FIRST_SERVER": fmt.Sprint(first),
			"JOIN_ORDER":   fmt.Sprint(i + 1), "JOIN_TOTAL": fmt.Sprint(len(order)),
			"PREVIOUS": at(names, i-1), "NEXT": at(names, i+1),
			"JOIN_URL": vip, "K3S_VERSION": c.Versions.K3s, "FLUX_VERSION": c.Versions.Flux,
			"TOKEN_FILE": host.TokenFile, "CLUSTER": c.Name,
		}
		for k, v := range want {
			if env[k] != v {
				t.Errorf("%s: node.env %s = %q, want %q", n.Name, k, env[k], v)
			}
		}
		if _, ok := env["FLUX_SYNC"]; ok != first {
			t.Errorf("%s: node.env has FLUX_SYNC: %v; only the first server installs Flux", n.Name, ok)
		}
	}
}

func at(names []string, i int) string {
	if i < 0 || i >= len(names) {
		return ""
	}
	return names[i]
}

// TestServersShareCriticalValues: every server holds the same server-wide
// values, the VIP among its certificate's SANs, and disables ServiceLB
// (never Traefik) and, since Longhorn is the default StorageClass,
// local-path; agents hold none of them.
func TestServersShareCriticalValues(t *testing.T) {
	c := load(t, "polylab")
	r := renderHosts(t, c)
	want := host.ServerConfig{
		TLSSAN:              []string{c.Network.APIVIP.String()},
		WriteKubeconfigMode: "0600",
		Critical: host.Critical{
			Disable:        []string{"servicelb", "local-storage"},
			ClusterCIDR:    c.Network.Pods.String(),
			ServiceCIDR:    c.Network.Services.String(),
			ClusterDomain:  c.Domain,
			FlannelBackend: c.Network.FlannelBackend,
		},
	}
	servers := validate(t, c).Servers
	if len(servers) < 3 {
		t.Fatalf("polylab has %d built servers; the test expects an HA control plane", len(servers))
	}
	for _, n := range servers {
		cfg := r.config(n.Name)
		if cfg.ServerConfig == nil {
			t.Fatalf("server %s has no server settings", n.Name)
		}
		if diff := cmp.Diff(want, *cfg.ServerConfig); diff != "" {
			t.Errorf("server %s (-want +got):\n%s", n.Name, diff)
		}
		if slices.Contains(cfg.Disable, "traefik") {
			t.Errorf("server %s disables Traefik, which the design keeps", n.Name)
		}
		if cfg.NodeIP != n.IP.String() {
			t.Errorf("server %s: node-ip = %q, want %q", n.Name, cfg.NodeIP, n.IP)
		}
	}
	for _, n := range validate(t, c).Built {
		if n.Role == model.Agent && r.config(n.Name).ServerConfig != nil {
			t.Errorf("agent %s carries server settings", n.Name)
		}
	}
}

// TestGPUNodeSettings: a node with an NVIDIA GPU registers with the label
// and taint of the model and runs pods with the nvidia runtime; no other
// node does.
func TestGPUNodeSettings(t *testing.T) {
	c := load(t, "polylab")
	r := renderHosts(t, c)
	gpus := validate(t, c).GPUNodes
	if len(gpus) == 0 {
		t.Fatal("polylab has no built GPU node")
	}
	for _, n := range validate(t, c).Built {
		cfg, env := r.config(n.Name), r.nodeEnv(n.Name)
		isGPU := slices.ContainsFunc(gpus, func(g *model.Node) bool { return g.Name == n.Name })
		if !isGPU {
			if cfg.DefaultRuntime != "" || env["GPU"] != "false" {
				t.Errorf("%s has no GPU, yet default-runtime = %q, GPU = %q", n.Name, cfg.DefaultRuntime, env["GPU"])
			}
			continue
		}
		if cfg.DefaultRuntime != "nvidia" {
			t.Errorf("%s: default-runtime = %q, want nvidia", n.Name, cfg.DefaultRuntime)
		}
		if !slices.Contains(cfg.NodeLabel, "nvidia.com/gpu.present=true") {
			t.Errorf("%s: node-label %v lacks the device plugin's nvidia.com/gpu.present=true", n.Name, cfg.NodeLabel)
		}
		if len(n.Taints) == 0 {
			t.Errorf("%s: the model gives the GPU node no taint", n.Name)
		}
		for _, taint := range n.Taints {
			if !slices.Contains(cfg.NodeTaint, taint.String()) {
				t.Errorf("%s: node-taint %v lacks %s", n.Name, cfg.NodeTaint, taint)
			}
		}
		if env["GPU"] != "true" {
			t.Errorf("%s: node.env GPU = %q, want true", n.Name, env["GPU"])
		}
	}
}

// TestLonghornDiskLabel: exactly the storage nodes get Longhorn's disk.
func TestLonghornDiskLabel(t *testing.T) {
	c := load(t, "polylab")
	r := renderHosts(t, c)
	label := component.LonghornDefaultDiskLabel + "=" + component.LonghornDefaultDiskValue
	for _, n := range validate(t, c).Built {
		if got := slices.Contains(r.config(n.Name).NodeLabel, label); got != n.Storage {
			t.Errorf("%s (storage: %v): has %s: %v", n.Name, n.Storage, label, got)
		}
	}
}

// TestPlannedNodesHaveNoFiles: nothing is rendered for a planned node; the
// node list names it as planned, so the script can say so.
func TestPlannedNodesHaveNoFiles(t *testing.T) {
	c := load(t, "polylab")
	r := renderHosts(t, c)
	planned := 0
	for _, n := range c.Nodes {
		if !n.Planned {
			continue
		}
		planned++
		for name := range r.files {
			if strings.HasPrefix(name, n.Name+"/") {
				t.Errorf("planned node %s has %s", n.Name, name)
			}
		}
		nodes := r.env(host.NodesEnvFile)
		if !slices.Contains(strings.Fields(nodes["PLANNED"]), n.Name) || slices.Contains(strings.Fields(nodes["NODES"]), n.Name) {
			t.Errorf("nodes.env: %s is planned, yet NODES = %q, PLANNED = %q", n.Name, nodes["NODES"], nodes["PLANNED"])
		}
	}
	if planned == 0 {
		t.Fatal("polylab has no planned node (the Jetson)")
	}
}

// TestNoTokenInAnyFile: configs name the token file and hold no token;
// the plans hold no secret variable.
func TestNoTokenInAnyFile(t *testing.T) {
	for _, cluster := range []string{"polylab", "example"} {
		c := load(t, cluster)
		r := renderHosts(t, c)
		for _, name := range host.Paths(r.files) {
			switch path.Base(name) {
			case host.K3sConfigFile:
				var keys map[string]any
				if err := yaml.Unmarshal(r.files[name], &keys); err != nil {
					t.Fatal(err)
				}
				for _, secret := range []string{"token", "agent-token", "datastore-endpoint"} {
					if _, ok := keys[secret]; ok {
						t.Errorf("%s/%s has key %s", cluster, name, secret)
					}
				}
				if keys["token-file"] != host.TokenFile {
					t.Errorf("%s/%s: token-file = %v, want %s", cluster, name, keys["token-file"], host.TokenFile)
				}
			case host.NodeEnvFile, host.NodesEnvFile:
				for key := range r.env(name) {
					if (strings.Contains(key, "TOKEN") && key != "TOKEN_FILE") || strings.Contains(key, "PASSWORD") || strings.Contains(key, "KEY") {
						t.Errorf("%s/%s sets %s", cluster, name, key)
					}
				}
			}
			if bytes.Contains(r.files[name], []byte("K10")) {
				t.Errorf("%s/%s contains what looks like a K3s token (K10...)", cluster, name)
			}
		}
	}
}

// TestKubeVIPManifestOnFirstServer: kube-vip's objects go to the first
// server's auto-deploy folder, and nowhere else, and hold the VIP.
func TestKubeVIPManifestOnFirstServer(t *testing.T) {
	c := load(t, "polylab")
	r := renderHosts(t, c)
	first := validate(t, c).Servers[0].Name
	var manifests []string
	for _, name := range host.Paths(r.files) {
		if strings.Contains(name, "/"+host.ManifestsDir+"/") {
			manifests = append(manifests, name)
		}
	}
	if want := []string{first + "/manifests/helmchart-flux-operator.yaml", first + "/manifests/kube-vip.yaml"}; !slices.Equal(manifests, want) {
		t.Fatalf("auto-deploy manifests = %v, want %v", manifests, want)
	}
	kinds := map[string]bool{}
	var address string
	for _, doc := range strings.Split(string(r.file(first+"/manifests/kube-vip.yaml")), "\n---\n") {
		var o struct {
			Kind string `json:"kind"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Env []struct{ Name, Value string }
						}
					}
				}
			}
		}
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatal(err)
		}
		kinds[o.Kind] = true
		for _, ctr := range o.Spec.Template.Spec.Containers {
			for _, e := range ctr.Env {
				if e.Name == "address" {
					address = e.Value
				}
			}
		}
	}
	for _, kind := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet"} {
		if !kinds[kind] {
			t.Errorf("kube-vip.yaml has no %s; it has %v", kind, kinds)
		}
	}
	if address != c.Network.APIVIP.String() {
		t.Errorf("kube-vip's address = %q, want the VIP %s", address, c.Network.APIVIP)
	}
}

// TestWithoutKubeVIP: a cluster whose VIP no kube-vip app holds gets no
// manifests, and its nodes join through the first server's address.
func TestWithoutKubeVIP(t *testing.T) {
	c := load(t, "example")
	if len(validate(t, c).AppsOf("kube-vip")) != 0 {
		t.Fatal("the example cluster now runs kube-vip; pick another cluster for this test")
	}
	r := renderHosts(t, c)
	first := validate(t, c).Servers[0]
	for name := range r.files {
		if strings.Contains(name, "/"+host.ManifestsDir+"/kube-vip") {
			t.Errorf("%s rendered without a kube-vip app", name)
		}
	}
	for _, n := range installOrder(c)[1:] {
		if got, want := r.config(n.Name).Server, apiURL(t, c, first.IP); got != want {
			t.Errorf("%s: server = %q, want the first server %s", n.Name, got, want)
		}
	}
	env := r.nodeEnv(first.Name)
	if env["FLUX_GIT_SECRET"] != c.Flux.SecretName || env["FLUX_GIT_SECRET"] == "" {
		t.Errorf("FLUX_GIT_SECRET = %q, want the model's %q", env["FLUX_GIT_SECRET"], c.Flux.SecretName)
	}
	// nftables for the host firewall, and nothing of Longhorn's.
	if env["PACKAGES"] != "nftables" {
		t.Errorf("PACKAGES = %q without Longhorn, want nftables alone", env["PACKAGES"])
	}
}

// TestFluxSyncExists: the first server applies a folder render writes.
func TestFluxSyncExists(t *testing.T) {
	r, err := render.Build(render.Source{FS: cuemodule.FS, Display: "cue"}, "polylab")
	if err != nil {
		t.Fatal(err)
	}
	c, tr := r.Model.Cluster, r.Tree
	sync := renderHosts(t, c).nodeEnv(validate(t, c).Servers[0].Name)["FLUX_SYNC"]
	rel, ok := strings.CutPrefix(sync, "clusters/"+c.Name+"/")
	if !ok {
		t.Fatalf("FLUX_SYNC = %q is not in clusters/%s", sync, c.Name)
	}
	if _, ok := tr.File(path.Join(rel, "kustomization.yaml")); !ok {
		t.Errorf("FLUX_SYNC = %q, but the tree has no %s/kustomization.yaml", sync, rel)
	}
}

// TestConfigFile shows a whole config for a model built in Go.
func TestConfigFile(t *testing.T) {
	c := &model.Cluster{
		Name:   "lab",
		Domain: "lab.internal",
		Network: model.Network{
			LAN: pfx("10.0.0.0/24"), Pods: pfx("10.100.0.0/16"), Services: pfx("10.101.0.0/16"),
			APIVIP: ip("10.0.0.5"), APIPort: 6444, FlannelBackend: "wireguard-native", SSHPort: 2222,
			LoadBalancerPool: model.Pool{First: ip("10.0.0.200"), Last: ip("10.0.0.210")},
		},
		Versions: model.Versions{K3s: "v1.34.10+k3s1", Flux: "v2.9.0",
			FluxOperator: model.Chart{Repository: "oci://registry.lab.internal/charts", Name: "flux-operator", Version: "0.59.0"}, Installers: model.Installers{K3s: model.K3sInstaller{
				Commit: "0123456789abcdef0123456789abcdef01234567", SHA256: strings.Repeat("ab", 32),
				BinarySHA256: map[string]string{"amd64": strings.Repeat("cd", 32), "arm64": ""}}}},
		Nodes: []model.Node{
			{Name: "a", IP: ip("10.0.0.11"), Role: model.Server, Arch: "amd64", Storage: true},
			{Name: "gpu", IP: ip("10.0.0.21"), Role: model.Agent, Arch: "amd64",
				Labels: map[string]string{"lab.dev/zone": "desk", "nvidia.com/gpu.present": "true"},
				Taints: []model.Taint{{Key: "nvidia.com/gpu", Value: "true", Effect: "NoSchedule"}, {Key: "lab.dev/loud", Effect: "PreferNoSchedule"}},
				GPUs:   []model.GPU{{Vendor: "nvidia", Model: "X", Count: 1}}},
			{Name: "b", IP: ip("10.0.0.12"), Role: model.Server, Arch: "amd64", Storage: true},
			{Name: "c", IP: ip("10.0.0.13"), Role: model.Server, Arch: "arm64"},
			{Name: "later", Role: model.Agent, Arch: "arm64", Planned: true},
		},
		AppsByName: map[string]model.App{
			"vip":      {Name: "vip", Namespace: "kube-system", Component: "kube-vip", Image: "kube-vip:v1", Workloads: []model.Workload{{Name: "vip", Selector: map[string]string{"app": "vip"}, HostNetwork: true}}},
			"longhorn": {Name: "longhorn", Component: "longhorn"},
			"db":       {Name: "db", Namespace: "data", Component: "container", Secrets: []model.SecretRef{{Name: "pg"}, {Name: "admin"}}},
			"ui":       {Name: "ui", Namespace: "data", Component: "container", Secrets: []model.SecretRef{{Name: "pg"}}},
		},
	}
	r := renderHosts(t, c)
	if want := []string{"a/k3s-config.yaml", "a/manifests/helmchart-flux-operator.yaml", "a/manifests/vip.yaml", "a/nftables.nft", "a/node.env",
		"b/k3s-config.yaml", "b/nftables.nft", "b/node.env", "c/k3s-config.yaml", "c/nftables.nft", "c/node.env",
		"gpu/k3s-config.yaml", "gpu/nftables.nft", "gpu/node.env", "nodes.env"}; !slices.Equal(host.Paths(r.files), want) {
		t.Errorf("files = %v, want %v", host.Paths(r.files), want)
	}
	for name, want := range map[string]string{
		"b/k3s-config.yaml": `cluster-cidr: 10.100.0.0/16
cluster-domain: lab.internal
disable:
- servicelb
- local-storage
flannel-backend: wireguard-native
node-ip: 10.0.0.12
node-label:
- node.longhorn.io/create-default-disk=true
node-name: b
server: https://10.0.0.5:6444
service-cidr: 10.101.0.0/16
tls-san:
- 10.0.0.5
token-file: /etc/rancher/k3s/cluster-token
write-kubeconfig-mode: "0600"
`,
		"gpu/k3s-config.yaml": `default-runtime: nvidia
node-ip: 10.0.0.21
node-label:
- lab.dev/zone=desk
- nvidia.com/gpu.present=true
node-name: gpu
node-taint:
- nvidia.com/gpu=true:NoSchedule
- lab.dev/loud:PreferNoSchedule
server: https://10.0.0.5:6444
token-file: /etc/rancher/k3s/cluster-token
`,
		"nodes.env": `# The nodes of cluster lab, for bootstrap/install.sh.
CLUSTER='lab'
# NODES are installed in this order: servers one at a time, then agents.
NODES='a b c gpu'
# PLANNED nodes are described but not built: nothing installs them.
PLANNED='later'
# SECRETS (namespace/name) must be committed SOPS-encrypted in SECRETS_DIR, as
# <namespace>-<name>.sops.yaml, before the first server starts Flux's sync.
SECRETS='data/admin data/pg'
SECRETS_DIR='clusters/lab/infrastructure/secrets'
`,
	} {
		if diff := cmp.Diff(want, string(r.file(name))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	env := r.nodeEnv("c")
	for k, v := range map[string]string{"JOIN_ORDER": "3", "PREVIOUS": "b", "NEXT": "gpu", "NODE_ARCH": "arm64",
		"SSH_PORT": "2222", "LAN": "10.0.0.0/24", "PACKAGES": "nftables open-iscsi nfs-common", "STORAGE": "false",
		// The installer by its commit and sha256; no binary pin for arm64.
		"K3S_INSTALLER_URL":    "https://raw.githubusercontent.com/k3s-io/k3s/0123456789abcdef0123456789abcdef01234567/install.sh",
		"K3S_INSTALLER_SHA256": strings.Repeat("ab", 32), "K3S_BINARY_SHA256": ""} {
		if env[k] != v {
			t.Errorf("c/node.env %s = %q, want %q", k, env[k], v)
		}
	}
	if got := r.nodeEnv("b")["K3S_BINARY_SHA256"]; got != strings.Repeat("cd", 32) {
		t.Errorf("b (amd64) K3S_BINARY_SHA256 = %q, want the amd64 pin", got)
	}
	// Only the first server applies the FluxInstance and the sync.
	if got := r.nodeEnv("a")["FLUX_INSTANCE"]; got != "clusters/lab/flux-system/fluxinstance-flux.yaml" {
		t.Errorf("a FLUX_INSTANCE = %q", got)
	}
	if _, ok := r.nodeEnv("b")["FLUX_INSTANCE"]; ok {
		t.Error("a joining server has a FLUX_INSTANCE")
	}
}

// TestEnvQuoting: a value with a quote survives the shell's reading.
func TestEnvQuoting(t *testing.T) {
	c := load(t, "example")
	c.Flux.URL = "https://git.example.com/it's.git"
	r := renderHosts(t, c)
	if got := r.nodeEnv(validate(t, c).Servers[0].Name)["FLUX_URL"]; got != c.Flux.URL {
		t.Errorf("FLUX_URL = %q, want %q", got, c.Flux.URL)
	}
}

// TestNoClusterValuesInGo: the renderer takes every cluster value from the
// model; none of polylab's is written into the package's Go code.
func TestNoClusterValuesInGo(t *testing.T) {
	c := load(t, "polylab")
	values := []string{c.Name, c.Network.APIVIP.String(), c.Network.LAN.String(), c.Network.Pods.String(), c.Network.Services.String(), c.Flux.URL}
	for _, n := range c.Nodes {
		values = append(values, n.Name)
		if n.IP.IsValid() {
			values = append(values, n.IP.String())
		}
	}
	sources, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range sources {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		code := strings.ReplaceAll(string(b), "github.com/polylab/polylab-gitops", "")
		for _, v := range values {
			if strings.Contains(code, v) {
				t.Errorf("%s holds %q, a value of cluster %s; read it from the model", name, v, c.Name)
			}
		}
	}
}
