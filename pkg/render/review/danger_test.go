package review_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/polylab/polylab-gitops/pkg/render/review"
)

const (
	namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n"
	service   = `apiVersion: v1
kind: Service
metadata:
  name: web-lb
  namespace: web
  annotations: {metallb.io/loadBalancerIPs: 10.0.0.200}
spec:
  type: LoadBalancer
  clusterIP: 10.43.0.10
  selector: {app: web}
`
	statefulSet = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: web}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {resources: {requests: {storage: 10Gi}}}
`
	claim = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: web}
spec:
  storageClassName: longhorn
  resources: {requests: {storage: 10Gi}}
`
	helmRelease = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: longhorn, namespace: longhorn-system}
spec:
  values:
    service:
      ui:
        annotations: {metallb.io/loadBalancerIPs: 10.0.0.201}
`
	helmChartConfig = `apiVersion: helm.cattle.io/v1
kind: HelmChartConfig
metadata: {name: traefik, namespace: kube-system}
spec:
  valuesContent: |
    service:
      annotations:
        metallb.io/loadBalancerIPs: 10.0.0.202
`
	policy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: web}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {app: traefik}}
    - ipBlock: {cidr: 10.0.0.0/24}
    ports: [{port: 80, protocol: TCP}]
`
	server1 = "cluster-init: true\nnode-name: s1\ntls-san: [10.0.0.5]\n"
	server2 = "server: https://10.0.0.5:6443\nnode-name: s2\ntls-san: [10.0.0.5]\n"
	agent   = "server: https://10.0.0.5:6443\nnode-name: a1\n"
)

// TestDangers: each class of dangerous change produces its note, and a
// harmless change of the same object none.
func TestDangers(t *testing.T) {
	tests := []struct {
		name          string
		before, after review.Files
		rules         []review.Rule // the notes' rules, in order
		says          string        // what one of them says
	}{{
		name:   "namespace pruned",
		before: files("infrastructure/namespaces/namespace-web.yaml", namespace),
		after:  files(),
		rules:  []review.Rule{review.Prune}, says: "Flux deletes Namespace/web, and Kubernetes deletes everything still in it",
	}, {
		name:   "objects pruned",
		before: files("apps/web/service-web-lb.yaml", service, "apps/web/statefulset-db.yaml", statefulSet),
		after:  files(),
		rules:  []review.Rule{review.Prune, review.LoadBalancerIP}, says: "Flux prunes 2 objects of Kustomization web: Service/web/web-lb, StatefulSet/web/db",
	}, {
		name:   "claim pruned",
		before: files("apps/web/persistentvolumeclaim-data.yaml", claim),
		after:  files(),
		rules:  []review.Rule{review.Prune}, says: "its volume and the data on it are gone",
	}, {
		name:   "release pruned",
		before: files("infrastructure/longhorn/helmrelease-longhorn.yaml", helmRelease),
		after:  files(),
		rules:  []review.Rule{review.Prune, review.LoadBalancerIP}, says: "uninstalls the release",
	}, {
		name: "no prune without spec.prune",
		before: files("apps.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: web, namespace: flux-system}\nspec: {prune: false}\n",
			"apps/web/namespace-web.yaml", namespace),
		after: files("apps.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: web, namespace: flux-system}\nspec: {prune: false}\n"),
	}, {
		name:   "Deployment selector",
		before: files("apps/web/deployment-web.yaml", deployment),
		after:  files("apps/web/deployment-web.yaml", strings.ReplaceAll(deployment, "{app: web}", "{app: www}")),
		rules:  []review.Rule{review.Immutable}, says: "Deployment/web/web changes spec.selector, which cannot change: the API server rejects the change",
	}, {
		name:   "Deployment image",
		before: files("apps/web/deployment-web.yaml", deployment),
		after:  files("apps/web/deployment-web.yaml", strings.ReplaceAll(deployment, "1.27", "1.28")),
	}, {
		name:   "forced recreation",
		before: files("apps/web/deployment-web.yaml", deployment),
		after: files("apps/web/deployment-web.yaml", strings.NewReplacer("{app: web}", "{app: www}",
			"namespace: web\n", "namespace: web\n  annotations: {kustomize.toolkit.fluxcd.io/force: enabled}\n").Replace(deployment)),
		rules: []review.Rule{review.Immutable}, says: "Flux deletes and recreates it",
	}, {
		name:   "StatefulSet claim template shrinks",
		before: files("apps/web/statefulset-db.yaml", statefulSet),
		after:  files("apps/web/statefulset-db.yaml", strings.ReplaceAll(statefulSet, "10Gi", "5Gi")),
		rules:  []review.Rule{review.Immutable}, says: `changes spec.volumeClaimTemplates, which cannot change: the API server rejects the change, so Kustomization web fails to apply until the object is deleted by hand (or Flux is told to recreate it with the kustomize.toolkit.fluxcd.io/force: enabled annotation); claims made from volumeClaimTemplates keep their old spec: resize them by hand; claim template "data" shrinks from 10Gi to 5Gi`,
	}, {
		name:   "StatefulSet replicas",
		before: files("apps/web/statefulset-db.yaml", statefulSet),
		after:  files("apps/web/statefulset-db.yaml", strings.ReplaceAll(statefulSet, "serviceName: db\n", "serviceName: db\n  replicas: 3\n")),
	}, {
		name:   "claim shrinks",
		before: files("apps/web/persistentvolumeclaim-data.yaml", claim),
		after:  files("apps/web/persistentvolumeclaim-data.yaml", strings.ReplaceAll(claim, "10Gi", "8Gi")),
		rules:  []review.Rule{review.Immutable}, says: "changes spec.resources.requests.storage, which cannot change",
	}, {
		name:   "claim grows",
		before: files("apps/web/persistentvolumeclaim-data.yaml", claim),
		after:  files("apps/web/persistentvolumeclaim-data.yaml", strings.ReplaceAll(claim, "10Gi", "20Gi")),
	}, {
		name:   "claim storage class",
		before: files("apps/web/persistentvolumeclaim-data.yaml", claim),
		after:  files("apps/web/persistentvolumeclaim-data.yaml", strings.ReplaceAll(claim, "longhorn", "local-path")),
		rules:  []review.Rule{review.Immutable}, says: "PersistentVolumeClaim/web/data changes spec.storageClassName",
	}, {
		name:   "chart volume shrinks",
		before: files("infrastructure/longhorn/helmrelease-longhorn.yaml", strings.ReplaceAll(helmRelease, "  values:\n", "  values:\n    persistence: {size: 50Gi}\n")),
		after:  files("infrastructure/longhorn/helmrelease-longhorn.yaml", strings.ReplaceAll(helmRelease, "  values:\n", "  values:\n    persistence: {size: 40Gi}\n")),
		rules:  []review.Rule{review.Immutable}, says: "HelmRelease/longhorn-system/longhorn spec.values.persistence.size shrinks from 50Gi to 40Gi: if the chart sizes a volume claim with it, the upgrade fails",
	}, {
		name:   "chart volume grows",
		before: files("infrastructure/longhorn/helmrelease-longhorn.yaml", strings.ReplaceAll(helmRelease, "  values:\n", "  values:\n    persistence: {size: 50Gi}\n")),
		after:  files("infrastructure/longhorn/helmrelease-longhorn.yaml", strings.ReplaceAll(helmRelease, "  values:\n", "  values:\n    persistence: {size: 60Gi}\n")),
	}, {
		name:   "Service clusterIP",
		before: files("apps/web/service-web-lb.yaml", service),
		after:  files("apps/web/service-web-lb.yaml", strings.ReplaceAll(service, "10.43.0.10", "10.43.0.11")),
		rules:  []review.Rule{review.Immutable}, says: "Service/web/web-lb changes spec.clusterIP",
	}, {
		name:   "Service selector",
		before: files("apps/web/service-web-lb.yaml", service),
		after:  files("apps/web/service-web-lb.yaml", strings.ReplaceAll(service, "{app: web}", "{app: www}")),
		rules:  []review.Rule{review.Selector}, says: "selects app=www instead of app=web",
	}, {
		name:   "LoadBalancer IP of a Service",
		before: files("apps/web/service-web-lb.yaml", service),
		after:  files("apps/web/service-web-lb.yaml", strings.ReplaceAll(service, "10.0.0.200", "10.0.0.210")),
		rules:  []review.Rule{review.LoadBalancerIP}, says: `Service/web/web-lb metadata.annotations["metallb.io/loadBalancerIPs"] moves from 10.0.0.200 to 10.0.0.210`,
	}, {
		name:   "LoadBalancer IP in Helm values",
		before: files("infrastructure/longhorn/helmrelease-longhorn.yaml", helmRelease),
		after:  files("infrastructure/longhorn/helmrelease-longhorn.yaml", strings.ReplaceAll(helmRelease, "10.0.0.201", "10.0.0.209")),
		rules:  []review.Rule{review.LoadBalancerIP}, says: `spec.values.service.ui.annotations["metallb.io/loadBalancerIPs"] moves from 10.0.0.201 to 10.0.0.209`,
	}, {
		name:   "LoadBalancer IP in a HelmChartConfig",
		before: files("infrastructure/traefik/helmchartconfig-traefik.yaml", helmChartConfig),
		after:  files("infrastructure/traefik/helmchartconfig-traefik.yaml", strings.ReplaceAll(helmChartConfig, "10.0.0.202", "10.0.0.208")),
		rules:  []review.Rule{review.LoadBalancerIP}, says: `HelmChartConfig/kube-system/traefik spec.valuesContent.service.annotations["metallb.io/loadBalancerIPs"] moves from 10.0.0.202 to 10.0.0.208`,
	}, {
		name:   "LoadBalancer IP passes to another Service",
		before: files("apps/web/service-web-lb.yaml", service),
		after:  files("apps/web/service-www-lb.yaml", strings.ReplaceAll(service, "web-lb", "www-lb")),
		rules:  []review.Rule{review.Prune, review.LoadBalancerIP}, says: "10.0.0.200 passes from Service/web/web-lb",
	}, {
		name:   "etcd member leaves",
		before: files("hosts/s1/k3s-config.yaml", server1, "hosts/s2/k3s-config.yaml", server2, "hosts/s3/k3s-config.yaml", strings.ReplaceAll(server2, "s2", "s3"), "hosts/a1/k3s-config.yaml", agent),
		after:  files("hosts/s1/k3s-config.yaml", server1, "hosts/s2/k3s-config.yaml", server2, "hosts/s3/k3s-config.yaml", strings.ReplaceAll(agent, "a1", "s3"), "hosts/a1/k3s-config.yaml", agent),
		rules:  []review.Rule{review.Quorum}, says: "s3 leaves the etcd cluster: 3 servers -> 2. Before, 3 members need 2 for quorum and survive 1 failure(s); after, 2 members need 2 for quorum and survive 0 failure(s)",
	}, {
		name:   "agent leaves",
		before: files("hosts/s1/k3s-config.yaml", server1, "hosts/a1/k3s-config.yaml", agent),
		after:  files("hosts/s1/k3s-config.yaml", server1),
	}, {
		name:   "flow removed",
		before: files("infrastructure/network-policies/networkpolicy-web.yaml", policy),
		after:  files("infrastructure/network-policies/networkpolicy-web.yaml", strings.ReplaceAll(policy, "    - ipBlock: {cidr: 10.0.0.0/24}\n", "")),
		rules:  []review.Rule{review.FlowRemoved}, says: "no policy allows ingress to pods app=web in namespace web from 10.0.0.0/24 on TCP/80 any more (it was NetworkPolicy/web/web): that traffic stops",
	}, {
		name:   "declared flow removed",
		before: files("infrastructure/network-policies/networkpolicy-web.yaml", strings.ReplaceAll(policy, "namespace: web}", `namespace: web, annotations: {polylab.dev/flows: "in:  lan -> web/web http (80/TCP): browsers\nin:  traefik -> web/web http (80/TCP): the ingress"}}`)),
		after:  files("infrastructure/network-policies/networkpolicy-web.yaml", strings.ReplaceAll(policy, "namespace: web}", `namespace: web, annotations: {polylab.dev/flows: "in:  lan -> web/web http (80/TCP): browsers"}}`)),
		rules:  []review.Rule{review.FlowRemoved}, says: `the flow traefik -> web/web http (80/TCP) is gone ("the ingress"): NetworkPolicy/web/web (in) no longer let it through`,
	}, {
		name:   "policies of a deleted namespace",
		before: files("infrastructure/network-policies/networkpolicy-web.yaml", policy, "infrastructure/namespaces/namespace-web.yaml", namespace),
		after:  files(),
		rules:  []review.Rule{review.Prune, review.Prune},
	}, {
		name:   "flow allowed by another policy",
		before: files("infrastructure/network-policies/networkpolicy-web.yaml", policy),
		after:  files("infrastructure/network-policies/networkpolicy-web-from-lan.yaml", strings.ReplaceAll(policy, "name: web,", "name: web-from-lan,")),
		rules:  []review.Rule{review.Prune}, says: "Flux prunes 1 object of Kustomization network-policies: NetworkPolicy/web/web",
	}, {
		name:   "moved between Kustomizations",
		before: files("apps/web/namespace-web.yaml", namespace),
		after:  files("infrastructure/namespaces/namespace-web.yaml", namespace),
		rules:  []review.Rule{review.Moved}, says: "Namespace/web moves from Kustomization web to namespaces: if web reconciles before namespaces has applied it, web's prune deletes it, and with it everything in the namespace",
	}, {
		name:   "moved together",
		before: files("infrastructure/network-policies/networkpolicy-web.yaml", policy, "infrastructure/network-policies/networkpolicy-lan.yaml", strings.ReplaceAll(policy, "name: web,", "name: lan,")),
		after:  files("infrastructure/network-policies-web/networkpolicy-web.yaml", policy, "infrastructure/network-policies-web/networkpolicy-lan.yaml", strings.ReplaceAll(policy, "name: web,", "name: lan,")),
		rules:  []review.Rule{review.Moved}, says: "2 objects move (NetworkPolicy/web/lan, NetworkPolicy/web/web) from Kustomization network-policies to network-policies-web: if network-policies reconciles before network-policies-web has applied them, network-policies's prune deletes them and network-policies-web creates them again",
	}, {
		name:   "moved alone",
		before: files("infrastructure/network-policies/networkpolicy-web.yaml", policy),
		after:  files("infrastructure/network-policies-web/networkpolicy-web.yaml", policy),
		rules:  []review.Rule{review.Moved}, says: "NetworkPolicy/web/web moves from Kustomization network-policies to network-policies-web: if network-policies reconciles before network-policies-web has applied it, network-policies's prune deletes it and network-policies-web creates it again",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := diff(t, tt.before, tt.after)
			var rules []review.Rule
			said := tt.says == ""
			for _, d := range r.Dangers {
				rules = append(rules, d.Rule)
				said = said || strings.Contains(d.Message, tt.says)
			}
			if !slices.Equal(rules, tt.rules) || !said {
				t.Errorf("want notes %q, one saying %q; got:\n%s", tt.rules, tt.says, notes(r))
			}
		})
	}
}

// TestDangerOrder: the notes come worst first: a Namespace before the
// other pruned objects, prunes before the rest.
func TestDangerOrder(t *testing.T) {
	r := diff(t,
		files("apps/web/service-web-lb.yaml", service, "infrastructure/namespaces/namespace-web.yaml", namespace,
			"apps/web/deployment-web.yaml", deployment),
		files("apps/web/deployment-web.yaml", strings.ReplaceAll(deployment, "{app: web}", "{app: www}")))
	var got []string
	for _, d := range r.Dangers {
		got = append(got, string(d.Rule)+" "+d.Subject)
	}
	want := "prune Namespace/web|prune Service/web/web-lb|immutable field Deployment/web/web|LoadBalancer IP 10.0.0.200"
	if strings.Join(got, "|") != want {
		t.Errorf("order:\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
}

func notes(r *review.Report) string {
	var b strings.Builder
	for _, d := range r.Dangers {
		fmt.Fprintf(&b, "  %s (%s) %s: %s\n", d.Rule, d.Group, d.Subject, d.Message)
	}
	return b.String()
}
