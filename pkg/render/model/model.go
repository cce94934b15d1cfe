// Package model holds the cluster: the Go types the CUE data decodes into
// (this file), the checks between values that the schema cannot express
// (validate.go), and the Model that Validate derives from a valid cluster
// once, for every later stage to read (index.go).
//
// The types mirror cue/schema field for field, and decoding is strict, so
// a field present in CUE but missing here is an error, never silently
// dropped. Addresses decode into net/netip types and durations into
// Duration: the stages after loading never parse a string again.
package model

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// Cluster is one homelab cluster, as described in cue/clusters/<name>.
type Cluster struct {
	Name      string     `json:"name"`
	Domain    string     `json:"domain"`
	Flux      Flux       `json:"flux"`
	Versions  Versions   `json:"versions"`
	Network   Network    `json:"network"`
	Nodes     []Node     `json:"nodes"`
	NodePorts []NodePort `json:"nodePorts"`
	Externals []External `json:"externals"`
	// AppsByName are the apps as the model keys them; Model.Apps lists
	// them in the order every stage renders them.
	AppsByName map[string]App `json:"apps"`
	// Flows are the flows as declared; Model.Links holds them resolved.
	Flows []Flow `json:"flows"`
}

// Flux says where Flux pulls the rendered repository from.
type Flux struct {
	URL        string   `json:"url"`
	Branch     string   `json:"branch"`
	Interval   Duration `json:"interval"`
	SecretName string   `json:"secretName,omitempty"`
	SOPS       struct {
		SecretName string `json:"secretName"`
	} `json:"sops"`
}

// Versions pins the K3s and Flux releases, every chart and every image.
type Versions struct {
	K3s          string            `json:"k3s"`
	Flux         string            `json:"flux"`
	FluxOperator Chart             `json:"fluxOperator"`
	Charts       map[string]Chart  `json:"charts"`
	Images       map[string]string `json:"images"`
	// Installers pin what the bootstrap downloads and runs as root.
	Installers Installers `json:"installers"`
}

// Installers pin the scripts and binaries the bootstrap fetches.
type Installers struct {
	K3s K3sInstaller `json:"k3s"`
}

// K3sInstaller pins K3s's install.sh by a k3s-io/k3s commit and its
// sha256, and optionally the K3s binary's sha256 per architecture.
type K3sInstaller struct {
	Commit       string            `json:"commit"`
	SHA256       string            `json:"sha256"`
	BinarySHA256 map[string]string `json:"binarySHA256,omitempty"`
}

// Network is the cluster's address plan.
type Network struct {
	LAN              netip.Prefix `json:"lan"`
	Pods             netip.Prefix `json:"pods"`
	Services         netip.Prefix `json:"services"`
	APIVIP           netip.Addr   `json:"apiVIP"`
	APIPort          int          `json:"apiPort"`
	LoadBalancerPool Pool         `json:"loadBalancerPool"`
	FlannelBackend   string       `json:"flannelBackend"`
	SSHPort          int          `json:"sshPort"`
}

// Pool is the range of LoadBalancer IPs MetalLB hands out, both ends included.
type Pool struct {
	First netip.Addr `json:"first"`
	Last  netip.Addr `json:"last"`
}

// Contains reports whether a is inside the pool.
func (p Pool) Contains(a netip.Addr) bool {
	return a.IsValid() && p.First.Compare(a) <= 0 && a.Compare(p.Last) <= 0
}

// String writes the pool as MetalLB's ranges do: first-last.
func (p Pool) String() string { return p.First.String() + "-" + p.Last.String() }

// Node is one machine.
type Node struct {
	Name string `json:"name"`
	// IP is the node's LAN address; the zero Addr for a planned node.
	IP       netip.Addr        `json:"ip,omitzero"`
	Role     Role              `json:"role"`
	Arch     string            `json:"arch"`
	Planned  bool              `json:"planned"`
	Hardware *Hardware         `json:"hardware,omitempty"`
	Labels   map[string]string `json:"labels"`
	Taints   []Taint           `json:"taints"`
	GPUs     []GPU             `json:"gpus"`
	Storage  bool              `json:"storage"`
}

// Role is what a node does in the cluster.
type Role string

// The two roles of a K3s node.
const (
	Server Role = "server" // control plane and an etcd member
	Agent  Role = "agent"  // workloads only
)

// Hardware describes a machine for readers of the rendered README.
type Hardware struct {
	Model     string `json:"model,omitempty"`
	CPU       string `json:"cpu,omitempty"`
	Cores     int    `json:"cores,omitempty"`
	MemoryGiB int    `json:"memoryGiB,omitempty"`
	DiskGiB   int    `json:"diskGiB,omitempty"`
}

// GPU is one kind of accelerator in a node.
type GPU struct {
	Vendor    string `json:"vendor"`
	Model     string `json:"model"`
	Count     int    `json:"count"`
	MemoryGiB int    `json:"memoryGiB"`
}

// GPUCount is the number of GPUs in the node.
func (n Node) GPUCount() int {
	total := 0
	for _, g := range n.GPUs {
		total += g.Count
	}
	return total
}

// Taint keeps pods off a node unless they tolerate it.
type Taint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"`
}

// String renders the taint as K3s's node-taint flag writes it: key=value:Effect.
func (t Taint) String() string {
	if t.Value == "" {
		return t.Key + ":" + t.Effect
	}
	return t.Key + "=" + t.Value + ":" + t.Effect
}

// NodePort is a port that nodes of some roles must reach on others.
type NodePort struct {
	Port     int      `json:"port"`
	Protocol string   `json:"protocol"`
	Purpose  string   `json:"purpose"`
	On       []Role   `json:"on"`
	From     []string `json:"from"`
}

// External is a traffic source outside the cluster.
type External struct {
	Name        string       `json:"name"`
	CIDR        netip.Prefix `json:"cidr"`
	Description string       `json:"description"`
}

// ClientOf is an address that stands for the clients of external source
// e when policies are evaluated: the first of its range after the
// network's own address that is no node's and not the API VIP, since
// those are sources of their own.
func (c *Cluster) ClientOf(e External) netip.Addr {
	taken := map[netip.Addr]bool{c.Network.APIVIP: true}
	for _, n := range c.Nodes {
		taken[n.IP] = true
	}
	a := e.CIDR.Addr().Next()
	for taken[a] {
		a = a.Next()
	}
	return a
}

// App is one piece of software the cluster runs. Which blocks it has
// (Helm, Container, Function, Image) and what its Settings hold depend on
// its component, whose CUE definition closes both.
type App struct {
	Name         string          `json:"name"`
	Namespace    string          `json:"namespace"`
	Description  string          `json:"description"`
	Component    string          `json:"component"`
	Layer        string          `json:"layer"`
	Helm         *Helm           `json:"helm,omitempty"`
	Container    *Container      `json:"container,omitempty"`
	Function     *NuclioFunction `json:"function,omitempty"`
	Image        string          `json:"image,omitempty"`
	Workloads    []Workload      `json:"workloads"`
	Provides     Provides        `json:"provides"`
	StorageClass string          `json:"storageClass,omitempty"`
	Secrets      []SecretRef     `json:"secrets"`
	// Settings are the component's own settings, as its CUE definition
	// types them; the component decodes them strictly into its Go type.
	Settings json.RawMessage `json:"settings,omitempty"`

	// Helpers are pods the app's chart or controller creates besides its
	// workloads; flows name them as they name workloads.
	Helpers []Workload `json:"helpers,omitempty"`
	// OpenNamespace leaves the app's namespace without a default deny.
	OpenNamespace bool `json:"openNamespace,omitempty"`
}

// Path is the path of a value of the app, such as apps.cvat.settings.
func (a *App) Path(sub ...any) Path {
	return append(Path{"apps", a.Name}, sub...)
}

// Secret returns the index of the app's Secret with the given name among
// its secrets, and whether it declares one.
func (a *App) Secret(name string) (int, bool) {
	i := slices.IndexFunc(a.Secrets, func(s SecretRef) bool { return s.Name == name })
	return i, i >= 0
}

// SecretNames are the names of the app's secrets, in their order.
func (a *App) SecretNames() []string {
	var out []string
	for _, s := range a.Secrets {
		out = append(out, s.Name)
	}
	return out
}

// The layers an app belongs to, in the order they are applied.
const (
	LayerInfrastructure = "infrastructure"
	LayerApps           = "apps"
)

// Provides lists what other apps may depend on.
type Provides struct {
	APIGroups      []string `json:"apiGroups"`
	StorageClasses []string `json:"storageClasses"`
}

// Helm is a pinned chart and the owner's extra values.
type Helm struct {
	Chart  Chart          `json:"chart"`
	Values map[string]any `json:"values"`
}

// Chart pins a Helm chart.
type Chart struct {
	Repository string `json:"repository"`
	Name       string `json:"name"`
	Version    string `json:"version"`
}

// Container is a plain container app.
type Container struct {
	Image      string               `json:"image"`
	Replicas   int32                `json:"replicas"`
	Command    []string             `json:"command"`
	Args       []string             `json:"args"`
	Env        map[string]string    `json:"env"`
	EnvFrom    []EnvSource          `json:"envFrom"`
	EnvSecrets map[string]SecretKey `json:"envSecrets"`
	Volumes    []Volume             `json:"volumes"`
	Resources  *Resources           `json:"resources,omitempty"`
}

// EnvSource loads every key of a ConfigMap or a Secret as variables.
type EnvSource struct {
	ConfigMap string `json:"configMap,omitempty"`
	Secret    string `json:"secret,omitempty"`
}

// SecretKey names one key of a Secret.
type SecretKey struct {
	Secret string `json:"secret"`
	Key    string `json:"key"`
}

// Volume mounts a persistent volume (Size), a ConfigMap or a Secret.
type Volume struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	Size      string `json:"size,omitempty"`
	ConfigMap string `json:"configMap,omitempty"`
	Secret    string `json:"secret,omitempty"`
}

// Resources are a container's requests and limits.
type Resources struct {
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`
}

// SecretRef names a Secret an app reads and the keys it must hold.
type SecretRef struct {
	Name        string   `json:"name"`
	Keys        []string `json:"keys"`
	Description string   `json:"description,omitempty"`
	// Type is the Secret's type: SecretOpaque or SecretDockerConfig.
	Type string `json:"type"`
	// Generate says how render -secrets makes a key's value; a key it
	// does not name gets a random password.
	Generate map[string]Generate `json:"generate,omitempty"`
}

// The types of Secret an app may declare.
const (
	// SecretOpaque holds whatever keys the app reads.
	SecretOpaque = "Opaque"
	// SecretDockerConfig is a registry login: kubelet reads its one key,
	// SecretDockerConfigKey, for imagePullSecrets only from a Secret of
	// this type (corev1.SecretTypeDockerConfigJson).
	SecretDockerConfig = "kubernetes.io/dockerconfigjson"
	// SecretDockerConfigKey is the key of a SecretDockerConfig Secret.
	SecretDockerConfigKey = ".dockerconfigjson"
)

// ways names the fields of g that are set; a valid Generate has one.
func (g Generate) ways() []string {
	var out []string
	for _, w := range []struct {
		name string
		set  bool
	}{{"password", g.Password != 0}, {"hex", g.Hex != 0}, {"base64", g.Base64 != 0}, {"value", g.Value != nil}, {"supplied", g.Supplied != nil}} {
		if w.set {
			out = append(out, w.name)
		}
	}
	return out
}

// Generate is how render -secrets makes one value: exactly one field is set.
type Generate struct {
	// Password is the length of a random password of letters and digits.
	Password int `json:"password,omitempty"`
	// Hex and Base64 are numbers of random bytes, written so.
	Hex    int `json:"hex,omitempty"`
	Base64 int `json:"base64,omitempty"`
	// Value is a fixed value that is no secret, such as a user name.
	Value *string `json:"value,omitempty"`
	// Supplied marks a value only the owner has; it says where to find it.
	Supplied *string `json:"supplied,omitempty"`
}

// NuclioFunction is a serverless function deployed from a prebuilt image.
type NuclioFunction struct {
	Image        string            `json:"image"`
	Project      string            `json:"project"`
	Runtime      string            `json:"runtime"`
	Handler      string            `json:"handler"`
	MinReplicas  int               `json:"minReplicas"`
	MaxReplicas  int               `json:"maxReplicas"`
	EventTimeout Duration          `json:"eventTimeout"`
	Annotations  map[string]string `json:"annotations"`
	Labels       []string          `json:"labels"`
	// ImagePullSecret names the app's registry login Secret, if any.
	ImagePullSecret string `json:"imagePullSecret,omitempty"`
	DeployerImage   string `json:"deployerImage"`
}

// Workload is a set of pods: what a Service selects and a flow names.
type Workload struct {
	Name          string            `json:"name"`
	Selector      map[string]string `json:"selector"`
	Ports         []Port            `json:"ports"`
	LoadBalancers []LoadBalancer    `json:"loadBalancers"`
	Placement     Placement         `json:"placement"`
	APIServer     bool              `json:"apiServer"`
	HostNetwork   bool              `json:"hostNetwork"`

	// ClusterDNS marks the cluster's DNS server, which every namespace
	// whose egress is restricted may reach.
	ClusterDNS bool `json:"clusterDNS,omitempty"`
	// CreatedBy names the pod set ("app/workload", as flows name it) whose
	// software creates these pods at run time (Longhorn's manager starts
	// the instance managers): no chart renders their template, so the
	// chart checks (render -charts) do not look for one.
	CreatedBy string `json:"createdBy,omitempty"`
}

// Port is one port of a workload: the Service port and the pod's port,
// or, with EndPort, a range of ports the pods listen on.
type Port struct {
	Name       string `json:"name"`
	Port       int    `json:"port"`
	TargetPort int    `json:"targetPort"`
	Protocol   string `json:"protocol"`
	// EndPort, when set, makes the port a range: the pods listen on every
	// port from TargetPort to EndPort, both included. No Service maps a
	// range, so TargetPort equals Port; a NetworkPolicy opens it whole
	// (NetworkPolicyPort.endPort).
	EndPort int `json:"endPort,omitempty"`
}

// IsRange reports whether the port is a range of ports (EndPort).
func (p Port) IsRange() bool { return p.EndPort > 0 }

// Last is the last pod port: EndPort for a range, else TargetPort.
func (p Port) Last() int {
	if p.IsRange() {
		return p.EndPort
	}
	return p.TargetPort
}

// PodPorts writes the pod's ports: 8080, or 10000-20000 for a range.
func (p Port) PodPorts() string {
	if p.IsRange() {
		return fmt.Sprintf("%d-%d", p.TargetPort, p.EndPort)
	}
	return strconv.Itoa(p.TargetPort)
}

// LoadBalancer is a LoadBalancer Service on a fixed IP from the pool.
type LoadBalancer struct {
	IP      netip.Addr `json:"ip"`
	Service string     `json:"service,omitempty"`
	Ports   []LBPort   `json:"ports"`
}

// LBPort maps an outside port to a named port of the workload.
type LBPort struct {
	Name string `json:"name"`
	Port int    `json:"port"`
}

// Placement says where a workload's pods may run.
type Placement struct {
	GPUs int    `json:"gpus"`
	Node string `json:"node,omitempty"`
}

// Flow is one declared conversation between a source and a workload's port.
type Flow struct {
	From    string   `json:"from"`
	To      string   `json:"to"`
	Port    FlowPort `json:"port"`
	Purpose string   `json:"purpose"`
}

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

// Duration is a length of time written as Flux and Go write it (1m, 1h30m).
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration; the schema has checked its form.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 30s or 1m", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as Go does (1m0s).
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
