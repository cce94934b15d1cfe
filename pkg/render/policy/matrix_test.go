package policy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/policy"
)

func TestFlowMatrix(t *testing.T) {
	c := testCluster(t)
	m := testModel(t, c)
	restricted := m.RestrictedNamespaces()
	got := policy.FlowMatrix(m)
	for _, want := range []string{
		"| namespace | default deny | apps |\n|---|---|---|\n",
		"| cvat | yes: only the flows below, DNS and (for apiServer workloads) the API | cvat, cvat-postgresql, cvat-redis, yolo11x-cvat-detector-gpu |",
		"| kube-system | no: K3s's own add-ons (CoreDNS, Traefik, metrics-server), which K3s installs and changes with its releases: a mistake would cut DNS for every namespace | k3s, kube-vip, traefik |",
		"| flux-system | no policy of ours: Flux's own (flux install): ingress from flux-system, 8080 and the webhook receiver only; egress anywhere (git, Helm repositories) | flux |",
		"| longhorn-system | yes: only the flows below, DNS and (for apiServer workloads) the API | longhorn |",
		"| from | to | port | pod port | purpose | allowed by |\n|---|---|---|---|---|---|\n",
		"| cvat/backend (cvat) | cvat/nuclio-dashboard (cvat) | http 8070 | 8070/TCP | the annotation worker lists and invokes functions | in allow-cvat-nuclio-dashboard; out allow-cvat-backend |",
		"| lan (192.168.20.0/24) | minio (minio) | api 80 | 9000/TCP | S3 clients on the LAN (the ClearML SDK uploads artifacts) | in allow-minio; from outside the cluster through a LoadBalancer IP |",
		"| traefik (kube-system) | cvat/frontend (cvat) | http 8000 | 8000/TCP | ingress to the CVAT UI | in allow-cvat-frontend; out: not restricted (kube-system is a system namespace) |",
		"| minio/make-bucket-job (minio), helper | minio (minio) |",
		"| k3s/apiserver (kube-system) | metallb/controller (metallb-system) | webhook 443 | 9443/TCP | MetalLB's admission webhook | in allow-metallb-controller; from the nodes' host network |",
		"| k3s/apiserver (kube-system) | longhorn/manager (longhorn-system) | webhook 9502 | 9502/TCP | Longhorn's admission webhook (validating and mutating) | in allow-longhorn-manager; from the nodes' host network |",
		"| longhorn/manager (longhorn-system) | longhorn/instance-manager (longhorn-system), helper | processes range | 10000-20000/TCP |",
		"| k3s/node (kube-system) | longhorn/share-manager (longhorn-system), helper | nfs 2049 | 2049/TCP |",
		"| flux/kustomize-controller (flux-system) | flux/source-controller (flux-system) | http 80 | 9090/TCP | fetches the artifact of the git repository it applies | in: not restricted (flux-system keeps Flux's own policies); out: not restricted (flux-system keeps Flux's own policies) |",
		"| cvat/nuclio-controller (cvat) | the Kubernetes API (servers) | api | 6443/TCP | a controller or operator (derived from apiServer) | out allow-cvat-nuclio-controller |",
		"| metallb/speaker (metallb-system) | the Kubernetes API (servers) | api | 6443/TCP | a controller or operator (derived from apiServer) | not restricted: host network",
		// The derived DNS row names every namespace with a default deny,
		// whichever the model has.
		"| every pod of " + strings.Join(restricted, ", ") + " | coredns (kube-system) | dns | 53/UDP, 53/TCP | name resolution (derived) | allow-dns-" + strings.Join(restricted, ", allow-dns-") + " |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the flow matrix lacks %q", want)
		}
	}
	// Every flow of the model has its row, with its purpose.
	for _, l := range m.Links {
		if !strings.Contains(got, " | "+l.Purpose+" | ") {
			t.Errorf("the flow matrix has no row for flow %d (%s -> %s: %s)", l.Index, l.Flow.From, l.Flow.To, l.Purpose)
		}
	}
	// One row per flow, each row as many cells as the header.
	rows := 0
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") == 7 && !strings.HasPrefix(line, "| from ") {
			rows++
		}
	}
	if rows < len(c.Flows) {
		t.Errorf("the flow table has %d rows, the model %d flows:\n%s", rows, len(c.Flows), got)
	}
	if policy.FlowMatrix(m) != got {
		t.Error("two calls differ")
	}
}

func TestFlowNotes(t *testing.T) {
	c := testCluster(t)
	m := testModel(t, c)
	got := policy.FlowNotes(m)
	var servers []string
	for _, n := range m.Servers {
		servers = append(servers, n.IP.String())
	}
	for _, want := range []string{
		// What the model has: its restricted namespaces, its servers, its pod range.
		"Namespaces `" + strings.Join(m.RestrictedNamespaces(), "`, `") + "` have a default deny in both directions",
		fmt.Sprintf("on the servers (%s, port %d/TCP)", strings.Join(servers, ", "), c.Network.APIPort),
		"the first address of each /24 of " + c.Network.Pods.Masked().String(),
		"Namespace `kube-system` has none: it holds K3s's own add-ons",
		"Namespace `flux-system` gets no policy of ours either: it keeps the NetworkPolicies that `flux install`",
		"a default deny of ours there would narrow nothing those allow",
		"longhorn/instance-manager processes 10000-20000/TCP",
		"the cluster DNS (`coredns` in `kube-system`, 53/UDP, 53/TCP; `allow-dns-<namespace>`)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the notes lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "openNamespace") {
		t.Errorf("the notes speak of openNamespace, which no app sets:\n%s", got)
	}
	// An app that sets openNamespace is named.
	editApp(c, "longhorn", func(app *model.App) { app.OpenNamespace = true })
	if got := policy.FlowNotes(testModel(t, c)); !strings.Contains(got, "Namespaces `longhorn-system` have none either, because an app there sets `openNamespace`") {
		t.Errorf("the notes do not name the open namespace:\n%s", got)
	}
}
