package component

import (
	"maps"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() {
	register(Definition[KubeVIPSettings]{Name: "kube-vip", Block: "image", Render: KubeVIP})
}

// KubeVIPSettings are the settings of a "kube-vip" app (cue/schema/kubevip.cue).
type KubeVIPSettings struct {
	// Interface is the network interface kube-vip announces the VIP on
	// (vip_interface); by default, that of the default route.
	Interface string `json:"interface,omitempty"`
}

// kube-vip's own conventions (kube-vip docs: flags, manifests/rbac.yaml).
const (
	// kubeVIPLease is the Lease the servers' kube-vip pods elect a leader
	// with: kube-vip's default name for the control-plane lease.
	kubeVIPLease = "plndr-cp-lock"
	// The leader election timings, in seconds: kube-vip's defaults. The
	// VIP moves within about the lease duration when its holder dies.
	kubeVIPLeaseDuration = 15
	kubeVIPRenewDeadline = 10
	kubeVIPRetryPeriod   = 2
	// kubeVIPSubnet is the prefix length of the VIP on the interface: a
	// single address.
	kubeVIPSubnet = 32
)

// The labels K3s puts on its servers; kube-vip runs where either is.
var controlPlaneLabels = []string{"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"}

// KubeVIP renders the "kube-vip" component: kube-vip as a DaemonSet on the
// servers, holding the API virtual IP by ARP with leader election. It
// serves the control plane only; MetalLB owns LoadBalancer Services.
func KubeVIP(m *model.Model, app *model.App, s KubeVIPSettings) ([]Unit, error) {
	objects, err := kubeVIPManifests(m, app, s)
	if err != nil {
		return nil, err
	}
	return []Unit{appUnit(app, objects...)}, nil
}

// KubeVIPManifests are kube-vip's objects: its ServiceAccount, RBAC and
// DaemonSet. The bootstrap also writes them into the first server's
// /var/lib/rancher/k3s/server/manifests, so that the VIP exists before
// the other servers join through it; Flux then manages the same objects.
func KubeVIPManifests(m *model.Model, app *model.App) ([]kube.Object, error) {
	s, err := decodeSettings[KubeVIPSettings](app)
	if err != nil {
		return nil, err
	}
	return kubeVIPManifests(m, app, s)
}

func kubeVIPManifests(m *model.Model, app *model.App, s KubeVIPSettings) ([]kube.Object, error) {
	ws, err := soleWorkload(app)
	if err != nil {
		return nil, err
	}
	w := ws.Workload
	if !w.HostNetwork {
		return nil, model.Problemf(ws.Path("hostNetwork"), "kube-vip answers ARP for the API virtual IP on the node's own interface, so it runs in the host network; set hostNetwork: true on workload %s", w.Name)
	}
	if err := noLoadBalancers(app); err != nil {
		return nil, err
	}
	port := m.Network.APIPort

	sa := &corev1.ServiceAccount{
		TypeMeta:   kube.TypeMeta(corev1.SchemeGroupVersion, "ServiceAccount"),
		ObjectMeta: kube.Meta(app.Name, app.Namespace),
	}
	// The rules of kube-vip's upstream rbac.yaml. The names are the app's
	// rather than upstream's system:kube-vip-role: "system:" is Kubernetes'
	// own prefix, and a colon has no place in the file names of the tree.
	role := &rbacv1.ClusterRole{
		TypeMeta:   kube.TypeMeta(rbacv1.SchemeGroupVersion, "ClusterRole"),
		ObjectMeta: metav1.ObjectMeta{Name: app.Name},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"services/status"}, Verbs: []string{"update"}},
			{APIGroups: []string{""}, Resources: []string{"services", "endpoints"}, Verbs: []string{"list", "get", "watch", "update"}},
			{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"list", "get", "watch", "update", "patch"}},
			{APIGroups: []string{coordinationv1.GroupName}, Resources: []string{"leases"}, Verbs: []string{"list", "get", "watch", "update", "create"}},
			{APIGroups: []string{discoveryv1.GroupName}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "get", "watch", "update"}},
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		TypeMeta:   kube.TypeMeta(rbacv1.SchemeGroupVersion, "ClusterRoleBinding"),
		ObjectMeta: metav1.ObjectMeta{Name: app.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa.Name, Namespace: sa.Namespace}},
	}

	env := []corev1.EnvVar{
		{Name: "vip_arp", Value: "true"},
		{Name: "port", Value: strconv.Itoa(port)},
		{Name: "vip_nodename", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
	}
	// Without an interface kube-vip uses the one of the default route.
	if s.Interface != "" {
		env = append(env, corev1.EnvVar{Name: "vip_interface", Value: s.Interface})
	}
	env = append(env,
		corev1.EnvVar{Name: "vip_subnet", Value: strconv.Itoa(kubeVIPSubnet)},
		corev1.EnvVar{Name: "cp_enable", Value: "true"},
		corev1.EnvVar{Name: "cp_namespace", Value: app.Namespace},
		corev1.EnvVar{Name: "svc_enable", Value: "false"}, // MetalLB owns LoadBalancer Services
		corev1.EnvVar{Name: "vip_leaderelection", Value: "true"},
		corev1.EnvVar{Name: "vip_leasename", Value: kubeVIPLease},
		corev1.EnvVar{Name: "vip_leaseduration", Value: strconv.Itoa(kubeVIPLeaseDuration)},
		corev1.EnvVar{Name: "vip_renewdeadline", Value: strconv.Itoa(kubeVIPRenewDeadline)},
		corev1.EnvVar{Name: "vip_retryperiod", Value: strconv.Itoa(kubeVIPRetryPeriod)},
		corev1.EnvVar{Name: "address", Value: m.Network.APIVIP.String()},
	)

	var onServers []corev1.NodeSelectorTerm
	for _, label := range controlPlaneLabels {
		onServers = append(onServers, corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: label, Operator: corev1.NodeSelectorOpExists},
		}})
	}
	ds := &appsv1.DaemonSet{
		TypeMeta:   kube.TypeMeta(appsv1.SchemeGroupVersion, "DaemonSet"),
		ObjectMeta: kube.Meta(app.Name, app.Namespace),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: maps.Clone(w.Selector)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(w.Selector)},
				Spec: corev1.PodSpec{
					ServiceAccountName: sa.Name,
					HostNetwork:        true,
					Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
						RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: onServers},
					}},
					// Every server, whatever its taints: the VIP must survive
					// any of them.
					Tolerations: []corev1.Toleration{
						{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
						{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
					},
					Containers: []corev1.Container{{
						Name:  app.Name,
						Image: app.Image,
						Args:  []string{"manager"},
						Env:   env,
						SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{
							Add:  []corev1.Capability{"NET_ADMIN", "NET_RAW"},
							Drop: []corev1.Capability{"ALL"},
						}},
					}},
				},
			},
		},
	}
	return []kube.Object{sa, role, binding, ds}, nil
}
