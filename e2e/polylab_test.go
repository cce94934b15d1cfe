package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"filippo.io/age"

	"github.com/polylab/polylab-gitops/e2e/cluster"
	"github.com/polylab/polylab-gitops/e2e/gitserver"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/secrets"
	"github.com/polylab/polylab-gitops/pkg/render/tree"
)

// polylabTimeout bounds each wait for Flux to apply a revision of the whole
// tree: some twenty Kustomizations, each waiting for those it depends on.
const polylabTimeout = 4 * time.Minute

// The cluster folder, in this repository and in the test's git repository.
const clusterDir = "clusters/polylab"

// function is the YOLO11 Nuclio function: its app, its NuclioFunction and
// its Flux Kustomization share the name.
const function = "yolo11x-cvat-detector-gpu"

var (
	kustomizationGVK = kustomizev1.GroupVersion.WithKind(kustomizev1.KustomizationKind)
	serviceGVK       = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	helmReleaseGVK   = schema.GroupVersionKind{Group: "helm.toolkit.fluxcd.io", Version: "v2", Kind: "HelmRelease"}
	chartConfigGVK   = schema.GroupVersionKind{Group: "helm.cattle.io", Version: "v1", Kind: "HelmChartConfig"}
	poolGVK          = schema.GroupVersionKind{Group: "metallb.io", Version: "v1beta1", Kind: "IPAddressPool"}
	functionGVK      = schema.GroupVersionKind{Group: "nuclio.io", Version: "v1beta1", Kind: "NuclioFunction"}
	jobGVK           = schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}
	secretGVK        = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	policyGVK        = schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}
)

// TestPolylab runs the owner's daily loop on real software: Flux's
// source-controller and kustomize-controller pull this repository's
// clusters/polylab from a git server and apply it to a real API server,
// layer after layer as dependsOn orders them; then apply a change and
// prune what it dropped; then refuse a bad change and keep what was there.
//
// No Pod ever runs here (there is no kubelet). On the real cluster every
// Flux Kustomization waits for what it applied to become healthy; here
// nothing would, so the root Kustomization is applied with one addition
// the bootstrap does not make: patches that set wait: false on the
// Kustomizations it applies. Flux then reports a unit Ready once its
// objects are applied, and dependsOn still orders the units.
func TestPolylab(t *testing.T) {
	skipIfShort(t)
	ctx := t.Context()
	c := cluster.Start(t)
	repo := gitserver.Start(t).NewRepo("polylab")

	// The model as committed, but pulled from the test's git server.
	m := loadModel(t)
	m.Flux.URL = repo.URL()
	m.Flux.SecretName = ""
	m.Flux.Interval = model.Duration{Duration: 10 * time.Second}
	work := t.TempDir()
	renderInto(t, m, work)
	assertCommittedTree(t, work, repo.URL())
	// The owner's Secrets, as render -secrets makes them: encrypted to the
	// age key the bootstrap gives Flux.
	identity, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	declared := createSecrets(t, m, work, identity)
	first := repo.Push(work, "polylab as committed")

	applySync(t, c, m, work, identity)
	// Every unit but the function's, which waits for Nuclio (below).
	waitAllApplied(t, c, work, repo.Revision(first), function)
	t.Run("function health follows Nuclio's state", func(t *testing.T) { assertFunctionHealth(t, c) })
	units := waitAllApplied(t, c, work, repo.Revision(first))

	t.Run("dependsOn order", func(t *testing.T) { assertOrder(t, units) })
	t.Run("LoadBalancer IPs", func(t *testing.T) { assertLoadBalancerIPs(t, c, m) })
	t.Run("MetalLB pool", func(t *testing.T) { assertPool(t, c, m) })
	t.Run("GPU function", func(t *testing.T) { assertGPUFunction(t, c, m) })
	t.Run("NetworkPolicies", func(t *testing.T) { assertPolicies(t, c, work) })
	t.Run("Nuclio deploy state survives Flux", func(t *testing.T) { assertDeployStateSurvives(t, c, m) })
	t.Run("SOPS Secrets decrypted by Flux", func(t *testing.T) { assertSecrets(t, c, declared) })

	// A change: drop the YOLO11 function and its flows, move Longhorn's UI.
	oldIP, newIP := moveLonghornUI(t, m)
	delete(m.AppsByName, function)
	m.Flows = slices.DeleteFunc(m.Flows, func(f model.Flow) bool {
		return strings.HasPrefix(f.To, function) || strings.HasPrefix(f.From, function)
	})
	renderInto(t, m, work)
	second := repo.Push(work, "drop the function, move the Longhorn UI")
	reconcileNow(t, c)
	waitAllApplied(t, c, work, repo.Revision(second))

	t.Run("change applied and pruned", func(t *testing.T) {
		assertLoadBalancerIPs(t, c, m)
		if hasValue(t, c, helmReleaseGVK, oldIP) {
			t.Errorf("a HelmRelease still asks for the old Longhorn UI address %s", oldIP)
		}
		if !hasValue(t, c, helmReleaseGVK, newIP) {
			t.Errorf("no HelmRelease asks for the new Longhorn UI address %s", newIP)
		}
		assertGone(t, c, kustomizationGVK, cluster.FluxNamespace, function)
		assertGone(t, c, functionGVK, "cvat", function)
		for _, job := range list(t, c, jobGVK, "cvat") {
			t.Errorf("Job %s was not pruned with the function", job.GetName())
		}
		assertPolicies(t, c, work)
	})

	// A bad change: a hand edit the API server rejects.
	redis := filepath.Join(work, clusterDir, "apps/cvat-redis/service-cvat-redis.yaml")
	good, err := os.ReadFile(redis)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(good), "port: 6379", "port: 70000", 1)
	if bad == string(good) {
		t.Fatalf("%s has no port 6379 to break", redis)
	}
	if err := os.WriteFile(redis, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	third := repo.Push(work, "an invalid Service port")
	reconcileNow(t, c)
	t.Run("bad change refused, previous objects kept", func(t *testing.T) {
		key := client.ObjectKey{Namespace: cluster.FluxNamespace, Name: "cvat-redis"}
		err := cluster.WaitFor(ctx, polylabTimeout, "Kustomization cvat-redis to report the rejected revision", func(ctx context.Context) (bool, string, error) {
			var ks kustomizev1.Kustomization
			if err := c.Client.Get(ctx, key, &ks); err != nil {
				return false, err.Error(), nil
			}
			cond := metav1.Condition{}
			if r := readyCondition(ks); r != nil {
				cond = *r
			}
			return ks.Status.LastAttemptedRevision == repo.Revision(third) && cond.Status == metav1.ConditionFalse,
				fmt.Sprintf("attempted %s, Ready=%s: %s", ks.Status.LastAttemptedRevision, cond.Status, cond.Message), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var ks kustomizev1.Kustomization
		if err := c.Client.Get(ctx, key, &ks); err != nil {
			t.Fatal(err)
		}
		if msg := readyMessage(ks); !strings.Contains(msg, "70000") {
			t.Errorf("Ready message does not name the rejected value: %s", msg)
		}
		if ks.Status.LastAppliedRevision != repo.Revision(second) {
			t.Errorf("last applied revision = %s, want the previous one %s", ks.Status.LastAppliedRevision, repo.Revision(second))
		}
		svc := get(t, c, serviceGVK, "cvat", "cvat-redis")
		ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
		if len(ports) != 1 || fmt.Sprint(ports[0].(map[string]any)["port"]) != "6379" {
			t.Errorf("the live Service changed: ports %v", ports)
		}
		get(t, c, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, "cvat", "cvat-redis")
	})
}

// loadModel loads the owner's model from this repository.
func loadModel(t *testing.T) *model.Cluster {
	t.Helper()
	m, err := render.Load(render.DirSource("../cue"), "polylab")
	if err != nil {
		t.Fatalf("load the polylab model: %v", err)
	}
	return m.Cluster
}

// renderInto renders the model into root/clusters/polylab as the CLI does.
func renderInto(t *testing.T, m *model.Cluster, root string) {
	t.Helper()
	tr, err := render.Render(m)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	plan, err := tree.Compare(tr, filepath.Join(root, clusterDir))
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Apply(); err != nil {
		t.Fatal(err)
	}
}

// assertCommittedTree checks the tree under test is this repository's
// clusters/polylab: every file is the committed one, but for those that
// carry the sync settings (the sync objects, the first server's plan),
// which point at the test's git server.
func assertCommittedTree(t *testing.T, root, testURL string) {
	t.Helper()
	var rendered []string
	filepath.WalkDir(filepath.Join(root, clusterDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(root, clusterDir), p)
			rendered = append(rendered, filepath.ToSlash(rel))
		}
		return err
	})
	for _, rel := range rendered {
		got, _ := os.ReadFile(filepath.Join(root, clusterDir, rel))
		want, err := os.ReadFile(filepath.Join("..", clusterDir, rel))
		switch {
		case err != nil:
			t.Errorf("%s is not committed; run go run ./cmd/render", rel)
		case strings.Contains(string(got), testURL):
		case string(got) != string(want):
			t.Errorf("%s differs from the committed file; run go run ./cmd/render", rel)
		}
	}
}

// applySync applies what the bootstrap applies: the Secret holding the
// age key SOPS decrypts with (a fresh key: the tree holds no encrypted
// file here) and the rendered sync objects, with the wait patches
// explained on TestPolylab.
func applySync(t *testing.T, c *cluster.Cluster, m *model.Cluster, root string, identity *age.X25519Identity) {
	t.Helper()
	key := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata":   map[string]any{"name": m.Flux.SOPS.SecretName, "namespace": cluster.FluxNamespace},
		"stringData": map[string]any{"age.agekey": identity.String()},
	}}
	if err := c.ApplyObjects(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	objs := readObjects(t, filepath.Join(root, clusterDir, "flux-system/gotk-sync.yaml"))
	for _, o := range objs {
		if o.GetKind() == kustomizev1.KustomizationKind {
			patches := []any{map[string]any{
				"patch":  "- op: add\n  path: /spec/wait\n  value: false\n",
				"target": map[string]any{"group": kustomizev1.GroupVersion.Group, "kind": kustomizev1.KustomizationKind},
			}}
			if err := unstructured.SetNestedSlice(o.Object, patches, "spec", "patches"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.ApplyObjects(t.Context(), objs...); err != nil {
		t.Fatal(err)
	}
}

// createSecrets writes .sops.yaml at the repository's root, naming the
// identity's recipient as the README says, and creates every Secret the
// model declares with pkg/render/secrets, as render -secrets does.
func createSecrets(t *testing.T, m *model.Cluster, root string, identity *age.X25519Identity) []secrets.Secret {
	t.Helper()
	config := "creation_rules:\n  - path_regex: ^clusters/[^/]+/infrastructure/secrets/.*\\.sops\\.yaml$\n" +
		"    encrypted_regex: ^(data|stringData)$\n    age: " + identity.Recipient().String() + "\n"
	if err := os.WriteFile(filepath.Join(root, ".sops.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	valid, err := model.Validate(m)
	if err != nil {
		t.Fatal(err)
	}
	declared := secrets.Declared(valid)
	dir := filepath.Join(root, clusterDir, model.LayerInfrastructure, component.SecretsDir)
	result, err := secrets.Create(declared, secrets.Options{Dir: dir, RepoRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	if len(result.Created) != len(declared) || len(declared) == 0 {
		t.Fatalf("created %d of %d Secrets:\n%s", len(result.Created), len(declared), result)
	}
	return declared
}

// assertSecrets checks that the real kustomize-controller decrypted every
// SOPS file with the age key and applied it: each declared Secret is live
// with exactly the declared keys and no empty value. (The values are the
// test's own; it never prints them.)
func assertSecrets(t *testing.T, c *cluster.Cluster, declared []secrets.Secret) {
	for _, s := range declared {
		live := get(t, c, secretGVK, s.Namespace, s.Name)
		data, _, _ := unstructured.NestedStringMap(live.Object, "data")
		var want, got []string
		for _, k := range s.Keys {
			want = append(want, k.Name)
		}
		for k, v := range data {
			got = append(got, k)
			if v == "" {
				t.Errorf("Secret %s: key %s is empty", s.ID(), k)
			}
			if strings.HasPrefix(v, "ENC[") {
				t.Errorf("Secret %s: key %s is still encrypted", s.ID(), k)
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("Secret %s has keys %v, want %v", s.ID(), got, want)
		}
	}
	t.Logf("%d Secrets decrypted by kustomize-controller and live", len(declared))
}

// reconcileNow asks the GitRepository to fetch now, rather than in 10s.
func reconcileNow(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	src := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: cluster.FluxNamespace, Name: "flux-system"}}
	if err := c.RequestReconcile(t.Context(), src); err != nil {
		t.Fatal(err)
	}
}

// waitAllApplied waits until every Flux Kustomization the tree declares
// exists, is Ready, and has applied revision; it returns them by name.
func waitAllApplied(t *testing.T, c *cluster.Cluster, root, revision string, except ...string) map[string]kustomizev1.Kustomization {
	t.Helper()
	want := slices.DeleteFunc(declaredKustomizations(t, root), func(name string) bool { return slices.Contains(except, name) })
	var units map[string]kustomizev1.Kustomization
	err := cluster.WaitFor(t.Context(), polylabTimeout, "every Kustomization to apply "+revision, func(ctx context.Context) (bool, string, error) {
		var list kustomizev1.KustomizationList
		if err := c.Client.List(ctx, &list, client.InNamespace(cluster.FluxNamespace)); err != nil {
			return false, err.Error(), nil
		}
		units = map[string]kustomizev1.Kustomization{}
		for _, ks := range list.Items {
			units[ks.Name] = ks
		}
		var missing []string
		for _, name := range want {
			ks, ok := units[name]
			if !ok || ks.Status.LastAppliedRevision != revision || !isReady(ks) {
				missing = append(missing, name+" ("+readyMessage(ks)+")")
			}
		}
		return len(missing) == 0, "not yet: " + strings.Join(missing, ", "), nil
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, c.FluxReport(t.Context()))
	}
	return units
}

// declaredKustomizations lists the Flux Kustomizations the rendered tree holds.
func declaredKustomizations(t *testing.T, root string) []string {
	t.Helper()
	names := []string{"flux-system"}
	for _, layer := range []string{"infrastructure.yaml", "apps.yaml"} {
		for _, o := range readObjects(t, filepath.Join(root, clusterDir, layer)) {
			names = append(names, o.GetName())
		}
	}
	return names
}

// readyCondition is the Kustomization's Ready condition, nil when it has
// none.
func readyCondition(ks kustomizev1.Kustomization) *metav1.Condition {
	return apimeta.FindStatusCondition(ks.Status.Conditions, meta.ReadyCondition)
}

func isReady(ks kustomizev1.Kustomization) bool {
	c := readyCondition(ks)
	return c != nil && c.Status == metav1.ConditionTrue && ks.Status.ObservedGeneration == ks.Generation
}

func readyMessage(ks kustomizev1.Kustomization) string {
	if c := readyCondition(ks); c != nil {
		return c.Reason + ": " + c.Message
	}
	return "no Ready condition"
}

func readySince(ks kustomizev1.Kustomization) time.Time {
	if c := readyCondition(ks); c != nil {
		return c.LastTransitionTime.Time
	}
	return time.Time{}
}

// assertOrder checks Flux became Ready on every unit no earlier than on
// every unit it depends on: the layers went on in dependsOn order.
func assertOrder(t *testing.T, units map[string]kustomizev1.Kustomization) {
	edges := 0
	for _, name := range slices.Sorted(maps.Keys(units)) {
		ks := units[name]
		for _, dep := range ks.Spec.DependsOn {
			edges++
			d, ok := units[dep.Name]
			if !ok {
				t.Errorf("%s depends on %s, which Flux does not have", name, dep.Name)
				continue
			}
			if readySince(ks).Before(readySince(d)) {
				t.Errorf("%s became Ready at %s, before %s, which it depends on, at %s", name, readySince(ks), dep.Name, readySince(d))
			}
		}
	}
	if edges == 0 {
		t.Error("no Kustomization depends on another")
	}
	t.Logf("%d dependsOn edges respected across %d Kustomizations", edges, len(units))
}

// assertLoadBalancerIPs checks every LoadBalancer IP of the model is asked
// for exactly once by a live object: a Service's MetalLB annotation, or the
// values a chart turns into one (HelmRelease, K3s HelmChartConfig).
func assertLoadBalancerIPs(t *testing.T, c *cluster.Cluster, m *model.Cluster) {
	t.Helper()
	var want []string
	for _, app := range m.AppsByName {
		for _, w := range app.Workloads {
			for _, lb := range w.LoadBalancers {
				want = append(want, lb.IP.String())
			}
		}
	}
	var got []string
	for _, svc := range list(t, c, serviceGVK, "") {
		if ip, ok := svc.GetAnnotations()[component.LoadBalancerIPsAnnotation]; ok {
			got = append(got, ip)
		}
	}
	for _, hr := range list(t, c, helmReleaseGVK, "") {
		got = append(got, annotationValues(hr.Object["spec"])...)
	}
	for _, hc := range list(t, c, chartConfigGVK, "") {
		content, _, _ := unstructured.NestedString(hc.Object, "spec", "valuesContent")
		var values any
		if err := yaml.Unmarshal([]byte(content), &values); err != nil {
			t.Fatalf("HelmChartConfig %s: %v", hc.GetName(), err)
		}
		got = append(got, annotationValues(values)...)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("live LoadBalancer IPs %v, model %v", got, want)
	}
}

// annotationValues finds every MetalLB address annotation in nested values.
func annotationValues(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == component.LoadBalancerIPsAnnotation {
				out = append(out, s)
			} else {
				out = append(out, annotationValues(x)...)
			}
		}
	case []any:
		for _, x := range v {
			out = append(out, annotationValues(x)...)
		}
	}
	return out
}

func assertPool(t *testing.T, c *cluster.Cluster, m *model.Cluster) {
	pools := list(t, c, poolGVK, "metallb-system")
	if len(pools) != 1 {
		t.Fatalf("%d IPAddressPools, want 1", len(pools))
	}
	addresses, _, _ := unstructured.NestedStringSlice(pools[0].Object, "spec", "addresses")
	want := m.Network.LoadBalancerPool.String()
	if !slices.Equal(addresses, []string{want}) {
		t.Errorf("pool addresses %v, want [%s]", addresses, want)
	}
}

// assertGPUFunction checks the applied function carries the GPU chain
// derived from the node model, and that its deploy Job is there.
func assertGPUFunction(t *testing.T, c *cluster.Cluster, m *model.Cluster) {
	fn := get(t, c, functionGVK, "cvat", function)
	valid, err := model.Validate(m)
	if err != nil {
		t.Fatal(err)
	}
	gpu := valid.GPU
	selector, _, _ := unstructured.NestedStringMap(fn.Object, "spec", "nodeSelector")
	for k, v := range gpu.NodeSelector {
		if selector[k] != v {
			t.Errorf("nodeSelector %v lacks %s=%s", selector, k, v)
		}
	}
	tolerations, _, _ := unstructured.NestedSlice(fn.Object, "spec", "tolerations")
	for _, taint := range gpu.Taints {
		if !slices.ContainsFunc(tolerations, func(x any) bool {
			tol := x.(map[string]any)
			return tol["key"] == taint.Key && tol["effect"] == taint.Effect
		}) {
			t.Errorf("tolerations %v do not tolerate %s", tolerations, taint)
		}
	}
	limit, _, _ := unstructured.NestedString(fn.Object, "spec", "resources", "limits", string(component.GPUResource))
	if limit != "1" {
		t.Errorf("GPU limit %q, want 1", limit)
	}
	if fn.GetLabels()["nuclio.io/project-name"] != "cvat" {
		t.Errorf("labels %v: CVAT lists functions of project cvat", fn.GetLabels())
	}
	jobs := list(t, c, jobGVK, "cvat")
	if len(jobs) != 1 || !strings.HasPrefix(jobs[0].GetName(), "yolo11x-cvat-detector-gpu-deploy-") {
		t.Fatalf("deploy Jobs: %d", len(jobs))
	}
	args, _, _ := unstructured.NestedSlice(jobs[0].Object, "spec", "template", "spec", "containers")
	if !strings.Contains(fmt.Sprint(args), component.NuclioDeployState) {
		t.Errorf("the deploy Job does not ask for %s: %v", component.NuclioDeployState, args)
	}
}

// functionUnit is the Flux Kustomization of the YOLO11 function.
var functionUnit = client.ObjectKey{Namespace: cluster.FluxNamespace, Name: function}

// setFunctionState plays a part no Pod can play here: the deploy Job's
// kubectl patch (waitingForResourceConfiguration) or Nuclio's controller
// reporting the deployment (ready, error). Nuclio's CRD has no status
// subresource, so a merge patch writes status as they do.
func setFunctionState(t *testing.T, c *cluster.Cluster, state, message string) {
	t.Helper()
	fn := &unstructured.Unstructured{}
	fn.SetGroupVersionKind(functionGVK)
	fn.SetNamespace("cvat")
	fn.SetName(function)
	patch := fmt.Sprintf(`{"status":{"state":%q,"message":%q}}`, state, message)
	if err := c.Client.Patch(t.Context(), fn, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

// functionUnitStatus reads the function's Kustomization's Ready condition.
func functionUnitStatus(ctx context.Context, c *cluster.Cluster) (kustomizev1.Kustomization, metav1.Condition, error) {
	var ks kustomizev1.Kustomization
	if err := c.Client.Get(ctx, functionUnit, &ks); err != nil {
		return ks, metav1.Condition{}, err
	}
	if c := readyCondition(ks); c != nil {
		return ks, *c, nil
	}
	return ks, metav1.Condition{Status: metav1.ConditionUnknown}, nil
}

// assertFunctionHealth shows, with the real kustomize-controller, that
// the function's Kustomization reads Nuclio's status.state through its
// CEL health check: not Ready while the function waits for deployment,
// Ready once Nuclio says ready, failed with the function named once
// Nuclio says error, and Ready again after a good redeploy.
func assertFunctionHealth(t *testing.T, c *cluster.Cluster) {
	ctx := t.Context()
	// Flux has applied the function; the deploy Job asks Nuclio to deploy it.
	err := cluster.WaitFor(ctx, polylabTimeout, "the function to be applied", func(ctx context.Context) (bool, string, error) {
		items, err := c.List(ctx, functionGVK, client.InNamespace("cvat"))
		return err == nil && len(items) == 1, fmt.Sprint(err), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	setFunctionState(t, c, component.NuclioDeployState, "")
	// kustomize-controller polls health every few seconds: several polls
	// go by while Nuclio has not said ready, and none may report Ready.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, ready, err := functionUnitStatus(ctx, c); err == nil && ready.Status == metav1.ConditionTrue {
			t.Fatalf("the function's Kustomization is Ready while the function waits for deployment: %s", ready.Message)
		}
		time.Sleep(2 * time.Second)
	}

	setFunctionState(t, c, "ready", "")
	waitFunctionUnit(t, c, "Ready once Nuclio says ready", func(ks kustomizev1.Kustomization, ready metav1.Condition) bool {
		return ready.Status == metav1.ConditionTrue && ks.Status.ObservedGeneration == ks.Generation
	})

	setFunctionState(t, c, "error", "Failed to deploy function: image pull back-off")
	requestFunctionReconcile(t, c)
	waitFunctionUnit(t, c, "failed once Nuclio says error", func(_ kustomizev1.Kustomization, ready metav1.Condition) bool {
		return ready.Status == metav1.ConditionFalse && strings.Contains(ready.Message, "NuclioFunction/cvat/"+function) &&
			strings.Contains(ready.Message, "Failed")
	})

	setFunctionState(t, c, "ready", "")
	requestFunctionReconcile(t, c)
	waitFunctionUnit(t, c, "Ready again after a good redeploy", func(_ kustomizev1.Kustomization, ready metav1.Condition) bool {
		return ready.Status == metav1.ConditionTrue
	})
}

func requestFunctionReconcile(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: functionUnit.Namespace, Name: functionUnit.Name}}
	if err := c.RequestReconcile(t.Context(), ks); err != nil {
		t.Fatal(err)
	}
}

func waitFunctionUnit(t *testing.T, c *cluster.Cluster, what string, done func(kustomizev1.Kustomization, metav1.Condition) bool) {
	t.Helper()
	err := cluster.WaitFor(t.Context(), polylabTimeout, "the function's Kustomization to be "+what, func(ctx context.Context) (bool, string, error) {
		ks, ready, err := functionUnitStatus(ctx, c)
		if err != nil {
			return false, err.Error(), nil
		}
		return done(ks, ready), string(ready.Status) + ": " + ready.Message, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// assertDeployStateSurvives has Flux reconcile the function's unit again
// (it applies the function anew) and checks that Flux left the state and
// message Nuclio wrote alone: Flux never owned status.
func assertDeployStateSurvives(t *testing.T, c *cluster.Cluster, m *model.Cluster) {
	ctx := t.Context()
	setFunctionState(t, c, "ready", "deployed by the test")
	ks, _, err := functionUnitStatus(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	before := ks.Status.LastHandledReconcileAt
	requestFunctionReconcile(t, c)
	waitFunctionUnit(t, c, "reconciled again", func(now kustomizev1.Kustomization, ready metav1.Condition) bool {
		return now.Status.LastHandledReconcileAt != before && ready.Status == metav1.ConditionTrue
	})
	live := get(t, c, functionGVK, "cvat", function)
	state, _, _ := unstructured.NestedString(live.Object, "status", "state")
	message, _, _ := unstructured.NestedString(live.Object, "status", "message")
	if state != "ready" || message != "deployed by the test" {
		t.Errorf("after Flux reconciled, status = %q, %q; want what Nuclio wrote", state, message)
	}
}

// assertPolicies checks the live NetworkPolicies are exactly the rendered ones.
func assertPolicies(t *testing.T, c *cluster.Cluster, root string) {
	t.Helper()
	var want []string
	filepath.WalkDir(filepath.Join(root, clusterDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), "networkpolicy-") {
			for _, o := range readObjects(t, p) {
				want = append(want, o.GetNamespace()+"/"+o.GetName())
			}
		}
		return err
	})
	var got []string
	for _, p := range list(t, c, policyGVK, "") {
		got = append(got, p.GetNamespace()+"/"+p.GetName())
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("live NetworkPolicies %v, rendered %v", got, want)
	}
	t.Logf("%d NetworkPolicies live", len(got))
}

// moveLonghornUI moves the Longhorn UI to the first free address of the pool.
func moveLonghornUI(t *testing.T, m *model.Cluster) (oldIP, newIP string) {
	t.Helper()
	used := map[netip.Addr]bool{}
	for _, app := range m.AppsByName {
		for _, w := range app.Workloads {
			for _, lb := range w.LoadBalancers {
				used[lb.IP] = true
			}
		}
	}
	pool := m.Network.LoadBalancerPool
	var free netip.Addr
	for a := pool.First; pool.Contains(a); a = a.Next() {
		if !used[a] {
			free = a
			break
		}
	}
	if !free.IsValid() {
		t.Fatal("the pool is full")
	}
	lh := m.AppsByName["longhorn"]
	for i, w := range lh.Workloads {
		if len(w.LoadBalancers) > 0 {
			oldIP = w.LoadBalancers[0].IP.String()
			lh.Workloads[i].LoadBalancers[0].IP = free
		}
	}
	m.AppsByName["longhorn"] = lh
	return oldIP, free.String()
}

// readObjects decodes the objects of a rendered YAML file.
func readObjects(t *testing.T, name string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := cluster.DecodeObjects(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return objs
}

func list(t *testing.T, c *cluster.Cluster, gvk schema.GroupVersionKind, namespace string) []unstructured.Unstructured {
	t.Helper()
	var opts []client.ListOption
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	items, err := c.List(t.Context(), gvk, opts...)
	if err != nil {
		t.Fatalf("list %s: %v", gvk.Kind, err)
	}
	return items
}

func get(t *testing.T, c *cluster.Cluster, gvk schema.GroupVersionKind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := c.Client.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: name}, u); err != nil {
		t.Fatalf("%s %s/%s: %v", gvk.Kind, namespace, name, err)
	}
	return u
}

func assertGone(t *testing.T, c *cluster.Cluster, gvk schema.GroupVersionKind, namespace, name string) {
	t.Helper()
	for _, o := range list(t, c, gvk, namespace) {
		if o.GetName() == name {
			t.Errorf("%s %s/%s was not pruned", gvk.Kind, namespace, name)
		}
	}
}

// hasValue reports whether any live object of the kind holds the string.
func hasValue(t *testing.T, c *cluster.Cluster, gvk schema.GroupVersionKind, value string) bool {
	t.Helper()
	for _, o := range list(t, c, gvk, "") {
		if strings.Contains(fmt.Sprint(o.Object["spec"]), value) {
			return true
		}
	}
	return false
}
