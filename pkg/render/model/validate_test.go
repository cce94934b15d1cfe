package model_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// tiny is a small valid cluster built in Go, on TEST-NET addresses.
func tiny() *model.Cluster {
	ip := netip.MustParseAddr
	pfx := netip.MustParsePrefix
	return &model.Cluster{
		Name: "tiny",
		Versions: model.Versions{K3s: "v1.35.7+k3s1", Flux: "v2.9.4",
			FluxOperator: model.Chart{Repository: "oci://registry.example/charts", Name: "flux-operator", Version: "0.59.0"}},
		Network: model.Network{LAN: pfx("192.0.2.0/24"), Pods: pfx("203.0.113.0/25"), Services: pfx("203.0.113.128/25"),
			APIVIP: ip("192.0.2.5"), APIPort: 6443, SSHPort: 22, FlannelBackend: "vxlan",
			LoadBalancerPool: model.Pool{First: ip("192.0.2.240"), Last: ip("192.0.2.250")}},
		Nodes: []model.Node{
			{Name: "s1", IP: ip("192.0.2.11"), Role: model.Server},
			{Name: "a1", IP: ip("192.0.2.21"), Role: model.Agent},
		},
		Externals:  []model.External{{Name: "lan", CIDR: pfx("192.0.2.0/24")}},
		AppsByName: map[string]model.App{},
	}
}

// problems validates c and returns its problems, one string each.
func problems(t *testing.T, c *model.Cluster) []string {
	t.Helper()
	_, err := model.Validate(c)
	if err == nil {
		return nil
	}
	var ps model.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Validate returned %T, not Problems: %v", err, err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.Error())
	}
	return out
}

// TestKubeletLabels: a node's labels are refused exactly when the kubelet
// would refuse them (Kubernetes v1.35 ValidateKubeletFlags: a key under
// kubernetes.io or k8s.io that is not a kubelet label), and a taint is
// never refused for its prefix.
func TestKubeletLabels(t *testing.T) {
	for key, refused := range map[string]bool{
		"node-role.kubernetes.io/gpu":              true,
		"kubernetes.io/role":                       true,
		"k8s.io/edge":                              true,
		"example.k8s.io/edge":                      true,
		"beta.kubernetes.io/fluentd":               true,
		"node-restriction.kubernetes.io/pool":      true,
		"topology.kubernetes.io/rack":              true,
		"failure-domain.beta.kubernetes.io/rack":   true,
		"node.kubernetes.io/pool":                  false,
		"gpu.node.kubernetes.io/model":             false,
		"kubelet.kubernetes.io/x":                  false,
		"kubernetes.io/hostname":                   false,
		"kubernetes.io/arch":                       false,
		"kubernetes.io/os":                         false,
		"beta.kubernetes.io/arch":                  false,
		"beta.kubernetes.io/os":                    false,
		"beta.kubernetes.io/instance-type":         false,
		"node.kubernetes.io/instance-type":         false,
		"topology.kubernetes.io/zone":              false,
		"topology.kubernetes.io/region":            false,
		"failure-domain.beta.kubernetes.io/zone":   false,
		"failure-domain.beta.kubernetes.io/region": false,
		"polylab.dev/edge":                         false,
		"notkubernetes.io/x":                       false,
		"edge":                                     false,
	} {
		c := tiny()
		c.Nodes[1].Labels = map[string]string{key: "true"}
		got := problems(t, c)
		switch {
		case refused && (len(got) != 1 || !strings.HasPrefix(got[0], "nodes.1.labels."+key+": node a1: the kubelet refuses label "+key+",")):
			t.Errorf("label %s: got %q, want it refused", key, got)
		case !refused && len(got) > 0:
			t.Errorf("label %s is one the kubelet sets, yet: %q", key, got)
		}
	}
	for _, key := range []string{"node-role.kubernetes.io/control-plane", "node.kubernetes.io/unschedulable", "k8s.io/edge", "nvidia.com/gpu"} {
		c := tiny()
		c.Nodes[1].Taints = []model.Taint{{Key: key, Effect: "NoSchedule"}}
		if got := problems(t, c); len(got) > 0 {
			t.Errorf("taint %s: the kubelet registers any taint key, yet: %q", key, got)
		}
	}
}

// TestCheckImage: image references as container runtimes parse them,
// pinned by a tag or a digest.
func TestCheckImage(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	for image, want := range map[string]string{
		"docker.io/library/nginx:1.27":        "",
		"nginx:1.27":                          "",
		"registry.example:5000/team/app:v1.0": "",
		"ghcr.io/example/app@" + digest:       "",
		"ghcr.io/example/app:1.0@" + digest:   "",
		"ghcr.io/example/App:1.0":             "must be lowercase",
		"ghcr.io/example/app: 1.0":            "is not an image reference",
		"ghcr.io/example/app:1.0 gpu":         "is not an image reference",
		"ghcr.io/example/app@sha256:abc":      "is not an image reference",
		"ghcr.io/example/app":                 "pins no version",
		"":                                    "is not an image reference",
	} {
		err := model.CheckImage(image)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", image, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: got %v, want an error saying %q", image, err, want)
		}
	}
}

// TestCheckQuantity: quantities as the API server parses them, never
// negative.
func TestCheckQuantity(t *testing.T) {
	for q, want := range map[string]string{
		"500m": "", "2": "", "512Mi": "", "10Gi": "", "1G": "", "0.5Gi": "",
		"1GB": "is not a Kubernetes quantity", "500 m": "is not a Kubernetes quantity", "": "is not a Kubernetes quantity",
		"-1Gi": "is negative",
	} {
		err := model.CheckQuantity(q)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", q, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: got %v, want an error saying %q", q, err, want)
		}
	}
}
