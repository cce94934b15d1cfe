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

	"sigs.k8s.io/yaml"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/flux"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// The files of a node's folder, hosts/<node>/, and of hosts/ itself.
const (
	// K3sConfigFile becomes the node's /etc/rancher/k3s/config.yaml.
	K3sConfigFile = "k3s-config.yaml"
	// NodeEnvFile is the node's plan for bootstrap/install.sh: shell
	// KEY='value' lines, sourced by the script.
	NodeEnvFile = "node.env"
	// ManifestsDir holds what the first server's K3s deploys at start, from
	// /var/lib/rancher/k3s/server/manifests: kube-vip, so that the API
	// virtual IP exists before any other node joins through it.
	ManifestsDir = "manifests"
	// NodesEnvFile, in hosts/ itself, lists the nodes in install order and
	// the planned ones, so that the script can tell an unknown node from
	// a planned one.
	NodesEnvFile = "nodes.env"
)

// TokenFile is where every node's K3s reads the cluster token. The
// bootstrap generates the token on the first server and the owner copies
// it to the others; the rendered files name the path, never the token.
const TokenFile = "/etc/rancher/k3s/cluster-token"

// K3s's own values the configs use (k3s-io/docs cli/server.md, advanced.md).
const (
	// servicelb is K3s's ServiceLB, which MetalLB replaces. Traefik stays.
	disableServiceLB = "servicelb"
	// local-storage is K3s's local-path provisioner, the default
	// StorageClass; with Longhorn there, two classes would claim default.
	disableLocalStorage = "local-storage"
	// kubeconfigMode keeps the admin kubeconfig readable by root only.
	kubeconfigMode = "0600"
	// nvidiaRuntime is the containerd runtime K3s registers when it finds
	// the NVIDIA container toolkit; the default on NVIDIA nodes, because
	// a Nuclio function cannot ask for runtimeClassName: nvidia.
	nvidiaRuntime = "nvidia"
	// kubeVIPComponent is the component that holds the API virtual IP.
	kubeVIPComponent = "kube-vip"
	// longhornComponent is the component whose storage nodes the configs
	// label, and whose node prerequisites the bootstrap installs.
	longhornComponent = "longhorn"
	// k3sInstallerURL is where K3s's install.sh of a k3s-io/k3s commit is
	// served: a commit names the same bytes forever, a branch or tag does not.
	k3sInstallerURL = "https://raw.githubusercontent.com/k3s-io/k3s/%s/install.sh"
	// firewallPackage is the Debian package of nft, which loads the host
	// firewall every node gets (firewall.go), before K3s.
	firewallPackage = "nftables"
)

// Longhorn's node prerequisites (longhorn chart/README.md): the iSCSI
// initiator, with its daemon running, and an NFSv4 client for RWX
// volumes, as Debian packages. Every node gets them: a pod on any node
// may mount a volume.
var (
	longhornPackages = []string{"open-iscsi", "nfs-common"}
	longhornServices = []string{"iscsid"}
)

// K3sConfig is a node's K3s config file, /etc/rancher/k3s/config.yaml:
// each field is the K3s flag of the same name. Servers embed ServerConfig.
type K3sConfig struct {
	// ClusterInit starts a new embedded etcd cluster: the first server only.
	ClusterInit bool `json:"cluster-init,omitempty"`
	// Server is the URL every other node joins through.
	Server string `json:"server,omitempty"`
	// TokenFile holds the cluster token; never the token itself.
	TokenFile string `json:"token-file"`
	NodeName  string `json:"node-name"`
	// NodeIP keeps kubelet off the VIP, which kube-vip puts on the same NIC.
	NodeIP string `json:"node-ip"`
	// NodeLabel and NodeTaint apply when the node registers, and only then.
	NodeLabel []string `json:"node-label,omitempty"`
	NodeTaint []string `json:"node-taint,omitempty"`
	// DefaultRuntime replaces runc for every pod of the node.
	DefaultRuntime string `json:"default-runtime,omitempty"`
	*ServerConfig
}

// ServerConfig is what every server's config holds, the same on each.
type ServerConfig struct {
	// TLSSAN puts the VIP in the API server's certificate.
	TLSSAN              []string `json:"tls-san"`
	WriteKubeconfigMode string   `json:"write-kubeconfig-mode"`
	Critical
}

// Critical are the values K3s refuses to start a server with when they
// differ from the cluster's ("critical configuration value mismatch").
type Critical struct {
	Disable        []string `json:"disable"`
	ClusterCIDR    string   `json:"cluster-cidr"`
	ServiceCIDR    string   `json:"service-cidr"`
	ClusterDomain  string   `json:"cluster-domain"`
	FlannelBackend string   `json:"flannel-backend"`
}

// k3sConfigs renders each built node's K3s config and bootstrap plan, the
// first server's auto-deploy manifests, and the list of nodes.
func k3sConfigs(m *model.Model, add func(string, []byte) error) error {
	p, err := newPlan(m)
	if err != nil {
		return err
	}
	if err := add(NodesEnvFile, p.nodesEnv()); err != nil {
		return err
	}
	for i := range p.order {
		node := p.order[i]
		cfg, err := yaml.Marshal(p.k3sConfig(node))
		if err != nil {
			return fmt.Errorf("node %s: %w", node.Name, err)
		}
		if err := add(path.Join(node.Name, K3sConfigFile), cfg); err != nil {
			return err
		}
		if err := add(path.Join(node.Name, NodeEnvFile), p.nodeEnv(i)); err != nil {
			return err
		}
	}
	// What K3s deploys as the first server starts, before Flux exists:
	// the Flux Operator's HelmChart (flux.Instance), and kube-vip, so that
	// the API's virtual IP exists before any other node joins through it.
	// Flux applies the same objects from git once it runs.
	manifests := map[string][]kube.Object{}
	for _, o := range flux.Instance(m) {
		if _, ok := o.(*kube.HelmChart); ok {
			manifests[kube.FileName(o)] = []kube.Object{o}
		}
	}
	if p.kubeVIP != nil {
		objects, err := component.KubeVIPManifests(m, p.kubeVIP)
		if err != nil {
			return err
		}
		manifests[p.kubeVIP.Name+".yaml"] = objects
	}
	for _, name := range slices.Sorted(maps.Keys(manifests)) {
		var docs [][]byte
		for _, o := range manifests[name] {
			b, err := kube.Marshal(o)
			if err != nil {
				return err
			}
			docs = append(docs, b)
		}
		if err := add(path.Join(p.first().Name, ManifestsDir, name), bytes.Join(docs, []byte("---\n"))); err != nil {
			return err
		}
	}
	return nil
}

// plan is the order the bootstrap builds the cluster in: the servers in
// model order, the first of which starts etcd and the others join one at
// a time, then the agents in model order. Planned nodes have no place.
type plan struct {
	c       *model.Model
	order   []*model.Node
	port    int
	kubeVIP *model.App // the app holding the VIP; nil if none does
}

func newPlan(m *model.Model) (*plan, error) {
	if len(m.Servers) == 0 {
		return nil, model.Problemf(model.Path{"nodes"}, "the cluster has no built server to start the control plane on")
	}
	p := &plan{c: m, port: m.Network.APIPort, order: slices.Clone(m.Servers)}
	for _, n := range m.Built {
		if n.Role != model.Server {
			p.order = append(p.order, n)
		}
	}
	switch apps := m.AppsOf(kubeVIPComponent); len(apps) {
	case 0:
	case 1:
		p.kubeVIP = apps[0]
	default:
		return nil, model.Problemf(apps[1].Path("component"), "apps %s and %s both hold the API virtual IP; keep one %s app", apps[0].Name, apps[1].Name, kubeVIPComponent)
	}
	return p, nil
}

func (p *plan) first() *model.Node { return p.order[0] }

// joinURL is the API every node but the first joins through. With kube-vip,
// the VIP: the first server's K3s starts kube-vip from its auto-deploy
// folder, and the bootstrap waits for the VIP to answer before it names
// the next node, so the VIP exists before anyone joins; a node rebuilt
// later then joins through whichever server holds it, not through one
// that may be down. Without kube-vip, the first server's own address.
func (p *plan) joinURL() string {
	host := p.first().IP
	if p.kubeVIP != nil {
		host = p.c.Network.APIVIP
	}
	return "https://" + netip.AddrPortFrom(host, uint16(p.port)).String()
}

// longhorn says whether the cluster runs Longhorn: its storage nodes then
// get its default-disk label, and every node its prerequisites.
func (p *plan) longhorn() bool { return len(p.c.AppsOf(longhornComponent)) > 0 }

// k3sConfig is one node's K3s config.
func (p *plan) k3sConfig(n *model.Node) K3sConfig {
	cfg := K3sConfig{
		TokenFile: TokenFile,
		NodeName:  n.Name,
		NodeIP:    n.IP.String(),
	}
	if n.Name == p.first().Name {
		cfg.ClusterInit = true
	} else {
		cfg.Server = p.joinURL()
	}
	labels := maps.Clone(n.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	if n.Storage && p.longhorn() {
		labels[component.LonghornDefaultDiskLabel] = component.LonghornDefaultDiskValue
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		cfg.NodeLabel = append(cfg.NodeLabel, k+"="+labels[k])
	}
	for _, t := range n.Taints {
		cfg.NodeTaint = append(cfg.NodeTaint, t.String())
	}
	if hasNVIDIA(n) {
		cfg.DefaultRuntime = nvidiaRuntime
	}
	if n.Role == model.Server {
		nw := p.c.Network
		disable := []string{disableServiceLB}
		if p.longhorn() {
			disable = append(disable, disableLocalStorage)
		}
		cfg.ServerConfig = &ServerConfig{
			TLSSAN:              []string{nw.APIVIP.String()},
			WriteKubeconfigMode: kubeconfigMode,
			Critical: Critical{
				Disable:        disable,
				ClusterCIDR:    nw.Pods.String(),
				ServiceCIDR:    nw.Services.String(),
				ClusterDomain:  p.c.Domain,
				FlannelBackend: nw.FlannelBackend,
			},
		}
	}
	return cfg
}

func hasNVIDIA(n *model.Node) bool {
	return slices.ContainsFunc(n.GPUs, func(g model.GPU) bool { return g.Vendor == "nvidia" })
}

// nodesEnv lists the built nodes in install order, and the planned ones.
func (p *plan) nodesEnv() []byte {
	var e env
	e.comment("The nodes of cluster %s, for bootstrap/install.sh.", p.c.Name)
	e.set("CLUSTER", p.c.Name)
	e.comment("NODES are installed in this order: servers one at a time, then agents.")
	e.set("NODES", strings.Join(names(p.order), " "))
	var planned []*model.Node
	for i := range p.c.Nodes {
		if n := &p.c.Nodes[i]; n.Planned {
			planned = append(planned, n)
		}
	}
	e.comment("PLANNED nodes are described but not built: nothing installs them.")
	e.set("PLANNED", strings.Join(names(planned), " "))
	e.comment("SECRETS (namespace/name) must be committed SOPS-encrypted in SECRETS_DIR, as")
	e.comment("<namespace>-<name>.sops.yaml, before the first server starts Flux's sync.")
	e.set("SECRETS", strings.Join(p.secrets(), " "))
	e.set("SECRETS_DIR", path.Join("clusters", p.c.Name, model.LayerInfrastructure, component.SecretsDir))
	return e.Bytes()
}

// secrets lists the Secrets the model's apps read, as namespace/name.
func (p *plan) secrets() []string {
	var out []string
	for _, s := range component.DeclaredSecrets(p.c) {
		out = append(out, s.Namespace+"/"+s.Name)
	}
	return out
}

// nodeEnv is the plan of the node at position i of the order.
func (p *plan) nodeEnv(i int) []byte {
	n := p.order[i]
	c := p.c
	var e env
	e.comment("The bootstrap plan of node %s, sourced by bootstrap/install.sh.", n.Name)
	e.set("CLUSTER", c.Name)
	e.set("NODE_NAME", n.Name)
	e.set("NODE_IP", n.IP.String())
	e.set("NODE_ROLE", string(n.Role))
	e.set("NODE_ARCH", n.Arch)
	e.set("FIRST_SERVER", strconv.FormatBool(i == 0))
	e.comment("This node is JOIN_ORDER of JOIN_TOTAL; PREVIOUS must be Ready first, NEXT comes after.")
	e.set("JOIN_ORDER", strconv.Itoa(i+1))
	e.set("JOIN_TOTAL", strconv.Itoa(len(p.order)))
	e.set("PREVIOUS", nameAt(p.order, i-1))
	e.set("NEXT", nameAt(p.order, i+1))
	e.set("FIRST_SERVER_NAME", p.first().Name)
	e.set("FIRST_SERVER_IP", p.first().IP.String())
	e.comment("JOIN_URL is the API the other nodes join through, in their config's server.")
	e.set("JOIN_URL", p.joinURL())
	e.set("API_VIP", c.Network.APIVIP.String())
	e.set("API_PORT", strconv.Itoa(p.port))
	e.set("K3S_VERSION", c.Versions.K3s)
	e.set("FLUX_VERSION", c.Versions.Flux)
	k3s := c.Versions.Installers.K3s
	e.comment("The K3s installer, run only if its sha256 matches; the binary's sha256 for NODE_ARCH, if pinned.")
	installer := ""
	if k3s.Commit != "" {
		installer = fmt.Sprintf(k3sInstallerURL, k3s.Commit)
	}
	e.set("K3S_INSTALLER_URL", installer)
	e.set("K3S_INSTALLER_SHA256", k3s.SHA256)
	e.set("K3S_BINARY_SHA256", k3s.BinarySHA256[n.Arch])
	e.set("TOKEN_FILE", TokenFile)
	e.set("GPU", strconv.FormatBool(hasNVIDIA(n)))
	e.set("STORAGE", strconv.FormatBool(n.Storage))
	packages, services := []string{firewallPackage}, []string(nil)
	if p.longhorn() {
		packages = append(packages, longhornPackages...)
		services = longhornServices
	}
	e.comment("PACKAGES (Debian) and SERVICES (systemd) the node needs before K3s.")
	e.set("PACKAGES", strings.Join(packages, " "))
	e.set("SERVICES", strings.Join(services, " "))
	e.comment("The host firewall must keep SSH open from the LAN.")
	e.set("LAN", c.Network.LAN.String())
	e.set("SSH_PORT", strconv.Itoa(c.Network.SSHPort))
	if i == 0 {
		e.comment("The first server applies FLUX_INSTANCE once the Flux Operator runs, then FLUX_SYNC,")
		e.comment("both relative to the repository.")
		e.set("FLUX_INSTANCE", path.Join("clusters", c.Name, flux.Dir, flux.InstanceFile))
		e.set("FLUX_SYNC", path.Join("clusters", c.Name, flux.Dir))
		e.set("FLUX_URL", c.Flux.URL)
		e.set("FLUX_GIT_SECRET", c.Flux.SecretName)
		e.set("FLUX_SOPS_SECRET", c.Flux.SOPS.SecretName)
	}
	return e.Bytes()
}

func names(nodes []*model.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

func nameAt(nodes []*model.Node, i int) string {
	if i < 0 || i >= len(nodes) {
		return ""
	}
	return nodes[i].Name
}

// env writes a shell-sourceable file of KEY='value' lines.
type env struct{ bytes.Buffer }

func (e *env) comment(format string, args ...any) {
	fmt.Fprintf(e, "# "+format+"\n", args...)
}

// set writes KEY='value', single-quoted so that the shell expands nothing.
func (e *env) set(key, value string) {
	fmt.Fprintf(e, "%s='%s'\n", key, strings.ReplaceAll(value, "'", `'\''`))
}
