package component

import (
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() {
	register(Definition[struct{}]{Name: "longhorn", Block: "helm", Pods: longhornPods, ChartPods: true, Render: Longhorn})
}

// Longhorn's own conventions (chart/values.yaml and chart/README.md).
const (
	// LonghornDefaultDiskLabel, set to LonghornDefaultDiskValue on a node,
	// lets Longhorn create its default disk there. The renderer sets
	// createDefaultDiskLabeledNodes, so the bootstrap must label exactly
	// the storage nodes with it when they register.
	LonghornDefaultDiskLabel = "node.longhorn.io/create-default-disk"
	LonghornDefaultDiskValue = "true"
	// LonghornStorageClass is the StorageClass the chart creates.
	LonghornStorageClass = "longhorn"
	// longhornNamespace is the only namespace the chart supports.
	longhornNamespace = "longhorn-system"
	// longhornMaxReplicas caps the default replica count: Longhorn's
	// default, enough to survive the loss of two nodes.
	longhornMaxReplicas = 3
)

func longhornPods(*model.App) []Pod {
	return []Pod{
		{"longhorn-manager, its API, admission webhook and recovery backend", map[string]string{"app": "longhorn-manager"}, true},
		{"the UI", map[string]string{"app": "longhorn-ui"}, false},
		{"the instance managers, which run the engines and replicas", map[string]string{"longhorn.io/component": "instance-manager"}, false},
		{"the share managers, the NFS servers of RWX volumes", map[string]string{"longhorn.io/component": "share-manager"}, true},
		{"the CSI plugin", map[string]string{"app": "longhorn-csi-plugin"}, true},
		{"the CSI attacher", map[string]string{"app": "csi-attacher"}, true},
		{"the CSI provisioner", map[string]string{"app": "csi-provisioner"}, true},
		{"the CSI resizer", map[string]string{"app": "csi-resizer"}, true},
		{"the CSI snapshotter", map[string]string{"app": "csi-snapshotter"}, true},
		{"the driver deployer", map[string]string{"app": "longhorn-driver-deployer"}, true},
		{"the chart's post-upgrade Job", map[string]string{jobNameLabel: "longhorn-post-upgrade"}, true},
	}
}

// jobNameLabel is the label the Job controller puts on a Job's pods, with
// the Job's name (Kubernetes 1.27 and later).
const jobNameLabel = "batch.kubernetes.io/job-name"

// Longhorn renders the "longhorn" component: the chart, with replicas on
// the storage nodes only and the StorageClass "longhorn" as the default.
//
// When longhorn-system has a default deny (it is not openNamespace), the
// network policies rendered from the model's flows are Longhorn's, and
// the chart's own (networkPolicies.restrictInternalTraffic, on by default
// in 1.12) are turned off: they admit whole pods on every port, and
// NetworkPolicies add up, so they would only widen the model's. The
// upgrade checker is turned off too: it calls Longhorn's upgrade
// responder on the internet, which no flow allows.
func Longhorn(m *model.Model, app *model.App, _ struct{}) ([]Unit, error) {
	if app.Namespace != longhornNamespace {
		return nil, model.Problemf(app.Path("namespace"), "the Longhorn chart installs in namespace %s only; set namespace: %q", longhornNamespace, longhornNamespace)
	}
	if !slices.Equal(app.Provides.StorageClasses, []string{LonghornStorageClass}) {
		return nil, model.Problemf(app.Path("provides", "storageClasses"), "the Longhorn chart creates the StorageClass %q and no other; set provides.storageClasses: [%q]", LonghornStorageClass, LonghornStorageClass)
	}
	if app.StorageClass != "" && app.StorageClass != LonghornStorageClass {
		return nil, model.Problemf(app.Path("storageClass"), "Longhorn provides storage and needs none; drop storageClass %q", app.StorageClass)
	}
	storage := m.StorageNodes
	if len(storage) == 0 {
		return nil, model.Problemf(model.Path{"nodes"}, "no built node holds Longhorn's volume replicas; set storage: true on at least one node that is not planned")
	}
	replicas := min(longhornMaxReplicas, len(storage))

	// Longhorn's manager and CSI driver must run on every node where a pod
	// may mount a volume, tainted ones included (the GPU node).
	taints := model.Taints(m.Built)
	tolerated := tolerations(taints)
	var toleration []string
	for _, t := range taints {
		toleration = append(toleration, t.String())
	}

	defaults := Values{
		// Only the storage nodes, which the bootstrap labels, get a disk.
		"createDefaultDiskLabeledNodes": true,
		// For volumes made in the UI; 1.12 takes one count per data engine.
		"defaultReplicaCount": Values{"v1": strconv.Itoa(replicas), "v2": strconv.Itoa(replicas)},
	}
	if len(toleration) > 0 {
		defaults["taintToleration"] = strings.Join(toleration, ";")
	}
	values := Values{
		// The check runs as a Helm hook Job; the chart asks GitOps
		// installs to disable it.
		"preUpgradeChecker": Values{"jobEnabled": false},
		"persistence": Values{
			"defaultClass":             true,
			"defaultClassReplicaCount": replicas,
		},
		"defaultSettings": defaults,
	}
	if m.Restricted(app.Namespace) {
		values["networkPolicies"] = Values{"restrictInternalTraffic": false}
		defaults["upgradeChecker"] = false
	}
	if len(tolerated) > 0 {
		values["longhornManager"] = Values{"tolerations": tolerated}
		values["longhornDriver"] = Values{"tolerations": tolerated}
	}

	ui, err := workload(app, "ui")
	if err != nil {
		return nil, err
	}
	lb, err := onlyLoadBalancer(ui)
	if err != nil {
		return nil, err
	}
	if lb != nil {
		if err := sameServicePorts(ui, lb); err != nil {
			return nil, err
		}
		values["service"] = Values{"ui": Values{
			"type":        string(corev1.ServiceTypeLoadBalancer),
			"annotations": loadBalancerAnnotations(*lb),
		}}
	}
	for _, w := range app.PodSets() {
		if w.Workload.Name != ui.Workload.Name && len(w.Workload.LoadBalancers) > 0 {
			return nil, model.Problemf(w.Path("loadBalancers"), "%s declares a LoadBalancer; the Longhorn chart exposes only its UI (workload %s) that way", w.Key(), ui.Workload.Name)
		}
	}

	objects, err := chart(app, values)
	if err != nil {
		return nil, err
	}
	u := appUnit(app, objects...)
	return []Unit{u}, nil
}
