package charts

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

const k3s = "v1.34.2+k3s1"

// release is the parent chart's release as a HelmRelease "web" in "apps"
// would install it.
func release() Release {
	return Release{
		Name:        "web",
		Namespace:   "apps",
		KubeVersion: k3s,
		IncludeCRDs: true,
		HelmRelease: types.NamespacedName{Namespace: "apps", Name: "web"},
	}
}

// summary prints what Render returned, one object a line, in its order.
func summary(objs []Object) []string {
	var out []string
	for _, o := range objs {
		s := fmt.Sprintf("%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
		if o.Hook != nil {
			s += fmt.Sprintf(" hook %s", strings.Join(o.Hook.Events, ","))
		}
		out = append(out, s)
	}
	return out
}

func find(t *testing.T, objs []Object, kind, name string) Object {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s in %v", kind, name, summary(objs))
	return Object{}
}

func str(t *testing.T, o Object, path ...string) string {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(o.Object, path...)
	if err != nil || !ok {
		t.Fatalf("%s %s: no %v", o.GetKind(), o.GetName(), path)
	}
	return fmt.Sprint(v)
}

func TestRenderObjects(t *testing.T) {
	objs, err := Render(testChart(t), release())
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by kind, namespace, name. The disabled subchart's ConfigMap
	// and CRD are absent, the enabled one's present; the test Pod is not
	// rendered; the stray ConfigMap of crds/ is dropped; the hook is marked.
	want := []string{
		"ClusterRole /web-reader",
		"ConfigMap apps/web-enabled-child",
		"ConfigMap elsewhere/web-facts",
		"CustomResourceDefinition /gadgets.example.polylab.dev",
		"CustomResourceDefinition /things.child.polylab.dev",
		"CustomResourceDefinition /widgets.example.polylab.dev",
		"Deployment apps/web-web",
		"Gadget /web-gadget",
		"Job apps/web-migrate hook pre-install,pre-upgrade",
		"Widget apps/web-widget",
	}
	if diff := cmp.Diff(want, summary(objs)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}

	for _, o := range objs {
		// Every object carries helm-controller's origin labels.
		if got := o.GetLabels()["helm.toolkit.fluxcd.io/name"] + " " + o.GetLabels()["helm.toolkit.fluxcd.io/namespace"]; got != "web apps" {
			t.Errorf("%s %s: origin labels %q", o.GetKind(), o.GetName(), got)
		}
		// Helm's ownership metadata is on the release's objects, not on
		// hooks nor on the CRDs helm-controller applies itself.
		owned := o.GetLabels()["app.kubernetes.io/managed-by"] == "Helm" &&
			o.GetAnnotations()["meta.helm.sh/release-name"] == "web" &&
			o.GetAnnotations()["meta.helm.sh/release-namespace"] == "apps"
		wantOwned := o.Hook == nil && o.GetKind() != "CustomResourceDefinition"
		if owned != wantOwned {
			t.Errorf("%s %s: Helm ownership metadata %v, want %v", o.GetKind(), o.GetName(), owned, wantOwned)
		}
	}

	hook := find(t, objs, "Job", "web-migrate").Hook
	if diff := cmp.Diff(&Hook{Events: []string{"pre-install", "pre-upgrade"}, Weight: -5, DeletePolicies: []string{"before-hook-creation", "hook-succeeded"}}, hook); diff != "" {
		t.Errorf("hook (-want +got):\n%s", diff)
	}
	if got := find(t, objs, "CustomResourceDefinition", "things.child.polylab.dev").Template; got != "parent/charts/enabled-child/crds/things.yaml" {
		t.Errorf("the subchart's CRD comes from %q", got)
	}
	if got := find(t, objs, "Deployment", "web-web").Template; got != "parent/templates/deployment.yaml" {
		t.Errorf("the Deployment comes from %q", got)
	}
}

func TestRenderValuesMergeOverDefaults(t *testing.T) {
	r := release()
	r.Values = map[string]any{
		"replicas":      3,
		"image":         map[string]any{"tag": "2.0"},
		"enabled-child": map[string]any{"message": "set by the owner"},
		"big":           1000000,
	}
	before := fmt.Sprint(r.Values)
	objs, err := Render(testChart(t), r)
	if err != nil {
		t.Fatal(err)
	}
	d := find(t, objs, "Deployment", "web-web")
	if got := str(t, d, "spec", "replicas"); got != "3" {
		t.Errorf("replicas = %s, want the owner's 3", got)
	}
	c := d.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	if got := c["image"]; got != "registry.example/web:2.0" {
		t.Errorf("image = %v, want the chart's repository with the owner's tag", got)
	}
	if got := str(t, find(t, objs, "ConfigMap", "web-enabled-child"), "data", "message"); got != "set by the owner" {
		t.Errorf("subchart message = %q", got)
	}
	// helm-controller hands Helm values decoded from JSON: numbers are
	// float64, and a template prints a million as Helm users know it.
	if got := str(t, find(t, objs, "ConfigMap", "web-facts"), "data", "big"); got != "1e+06" {
		t.Errorf("big = %q, want 1e+06 as helm-controller renders it", got)
	}
	if after := fmt.Sprint(r.Values); after != before {
		t.Errorf("Render changed the caller's values: %s, was %s", after, before)
	}

	// Defaults alone: the chart's values.yaml and the parent's values for
	// its subchart.
	objs, err = Render(testChart(t), release())
	if err != nil {
		t.Fatal(err)
	}
	if got := str(t, find(t, objs, "Deployment", "web-web"), "spec", "replicas"); got != "1" {
		t.Errorf("default replicas = %s", got)
	}
	if got := str(t, find(t, objs, "ConfigMap", "web-enabled-child"), "data", "message"); got != "set by the parent" {
		t.Errorf("default subchart message = %q", got)
	}
}

func TestRenderNamespaces(t *testing.T) {
	objs, err := Render(testChart(t), release())
	if err != nil {
		t.Fatal(err)
	}
	for kind, ns := range map[string]string{
		"Deployment":               "apps", // namespaced, left empty by the template
		"Widget":                   "apps", // namespaced by the chart's CRD
		"Job":                      "apps", // hooks too
		"ClusterRole":              "",     // cluster-scoped built-in
		"Gadget":                   "",     // cluster-scoped by the chart's CRD
		"CustomResourceDefinition": "",     // cluster-scoped
	} {
		for _, o := range objs {
			if o.GetKind() == kind && o.GetNamespace() != ns {
				t.Errorf("%s %s: namespace %q, want %q", kind, o.GetName(), o.GetNamespace(), ns)
			}
		}
	}
	if got := find(t, objs, "ConfigMap", "web-facts").GetNamespace(); got != "elsewhere" {
		t.Errorf("a namespace the template sets is kept; got %q", got)
	}

	// Without its CRDs in the render, a Gadget is cluster-scoped only when
	// the caller says so (the CRD then comes from another unit).
	r := release()
	r.IncludeCRDs = false
	objs, err = Render(testChart(t), r)
	if err != nil {
		t.Fatal(err)
	}
	if got := find(t, objs, "Gadget", "web-gadget").GetNamespace(); got != "" {
		// The chart still carries the CRD in crds/: its scope is known.
		t.Errorf("Gadget without rendered CRDs: namespace %q", got)
	}
}

func TestRenderClusterScopedKindsOfOtherUnits(t *testing.T) {
	ch, err := LoadArchive(archiveChart(t, "pools", "1.0.0", "x\n---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: pool\n---\napiVersion: example.io/v1\nkind: ClusterThing\nmetadata:\n  name: thing"))
	if err != nil {
		t.Fatal(err)
	}
	r := release()
	r.ClusterScoped = []schema.GroupKind{{Group: "example.io", Kind: "ClusterThing"}}
	objs, err := Render(ch, r)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ClusterThing /thing", "ConfigMap apps/web", "IPAddressPool apps/pool"}, summary(objs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRenderCRDsPolicy(t *testing.T) {
	r := release()
	r.IncludeCRDs = false
	objs, err := Render(testChart(t), r)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" || o.GetKind() == "Widget" {
			t.Errorf("IncludeCRDs is false, yet %s %s is rendered", o.GetKind(), o.GetName())
		}
	}
	// The Widget's API served by another unit's CRD: the Widget renders.
	r.APIVersions = []string{"example.polylab.dev/v1", "example.polylab.dev/v1/Widget"}
	if objs, err = Render(testChart(t), r); err != nil {
		t.Fatal(err)
	}
	find(t, objs, "Widget", "web-widget")
}

func TestRenderDisableHooks(t *testing.T) {
	r := release()
	r.DisableHooks = true
	objs, err := Render(testChart(t), r)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.Hook != nil {
			t.Errorf("hooks are disabled, yet %s %s is rendered", o.GetKind(), o.GetName())
		}
	}
}

func TestRenderCommonMetadata(t *testing.T) {
	r := release()
	r.CommonMetadata = &helmv2.CommonMetadata{
		Labels:      map[string]string{"team": "lab", "helm.toolkit.fluxcd.io/name": "overridden"},
		Annotations: map[string]string{"owner": "polylab"},
	}
	objs, err := Render(testChart(t), r)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		crd := o.GetKind() == "CustomResourceDefinition"
		if got := o.GetLabels()["team"] == "lab" && o.GetAnnotations()["owner"] == "polylab"; got == crd {
			t.Errorf("%s %s: common metadata %v (helm-controller sets it on all but the CRDs)", o.GetKind(), o.GetName(), got)
		}
		if got := o.GetLabels()["helm.toolkit.fluxcd.io/name"]; got != "web" {
			t.Errorf("%s %s: the origin label must win over a common label, got %q", o.GetKind(), o.GetName(), got)
		}
	}
}

func TestRenderPostRenderStrategy(t *testing.T) {
	r := release()
	r.PostRenderStrategy = helmv2.PostRenderStrategyNoHooks
	objs, err := Render(testChart(t), r)
	if err != nil {
		t.Fatal(err)
	}
	if got := find(t, objs, "Job", "web-migrate").GetLabels(); len(got) != 0 {
		t.Errorf("nohooks: the hook got labels %v", got)
	}
	if got := find(t, objs, "Deployment", "web-web").GetLabels()["helm.toolkit.fluxcd.io/name"]; got != "web" {
		t.Errorf("nohooks: the Deployment lacks the origin label")
	}
	r.PostRenderStrategy = helmv2.PostRenderStrategySeparate
	if objs, err = Render(testChart(t), r); err != nil {
		t.Fatal(err)
	}
	if got := find(t, objs, "Job", "web-migrate").GetLabels()["helm.toolkit.fluxcd.io/name"]; got != "web" {
		t.Errorf("separate: the hook lacks the origin label")
	}
}

func TestRenderKubeVersionConstraint(t *testing.T) {
	r := release()
	r.KubeVersion = "v1.29.3+k3s1"
	_, err := Render(testChart(t), r)
	want := "chart parent 1.2.3: chart requires kubeVersion: >=1.30.0-0 which is incompatible with Kubernetes v1.29.3+k3s1"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	r.KubeVersion = ""
	if _, err := Render(testChart(t), r); err == nil || !strings.Contains(err.Error(), "KubeVersion") {
		t.Errorf("no KubeVersion: err = %v", err)
	}
}

func TestRenderSchemaValidation(t *testing.T) {
	r := release()
	r.Values = map[string]any{"replicas": 0}
	if _, err := Render(testChart(t), r); err == nil || !strings.Contains(err.Error(), "replicas") {
		t.Fatalf("replicas 0 breaks the chart's schema (minimum 1); err = %v", err)
	}
	r.DisableSchemaValidation = true
	if _, err := Render(testChart(t), r); err != nil {
		t.Fatalf("DisableSchemaValidation: %v", err)
	}
}

// What a template reads of the cluster comes from the Release, never from
// a cluster: with a kubeconfig pointing at a server that counts requests,
// the count stays zero.
func TestRenderNeverReachesACluster(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+srv.URL+`"}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]
users: [{name: u, user: {token: t}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kubeconfig)

	r := release()
	r.APIVersions = []string{"monitoring.coreos.com/v1"}
	objs, err := Render(testChart(t), r)
	if err != nil {
		t.Fatal(err)
	}
	facts := find(t, objs, "ConfigMap", "web-facts")
	for k, want := range map[string]string{
		"kubeVersion":      k3s,
		"kubeMinor":        "34",
		"hasMonitoring":    "true",
		"hasDeployments":   "true",
		"lookup":           "{}",
		"releaseNamespace": "apps",
		"isInstall":        "true",
	} {
		if got := str(t, facts, "data", k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the render sent %d requests to the cluster", n)
	}
}

func TestRenderDeterministic(t *testing.T) {
	ch := testChart(t)
	a, err := Render(ch, release())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		b, err := Render(ch, release())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatal("two renders of one chart differ")
		}
	}
}

// Render may run for many HelmReleases at once (go test -race checks it).
func TestRenderConcurrent(t *testing.T) {
	ch := testChart(t)
	want, err := Render(ch, release())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			r := release()
			r.Values = map[string]any{"replicas": i + 1}
			got, err := Render(ch, r)
			if err != nil {
				t.Error(err)
				return
			}
			if len(got) != len(want) {
				t.Errorf("render %d: %d objects, want %d", i, len(got), len(want))
			}
		})
	}
	wg.Wait()
}

func TestRenderNeedsNameAndNamespace(t *testing.T) {
	r := release()
	r.Name = ""
	if _, err := Render(testChart(t), r); err == nil {
		t.Error("a release without a name rendered")
	}
}

func TestReleaseOf(t *testing.T) {
	hr := &helmv2.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Name: "cvat", Namespace: "flux-apps"},
		Spec: helmv2.HelmReleaseSpec{
			TargetNamespace: "cvat",
			Values:          &apiextensionsv1.JSON{Raw: []byte(`{"replicas": 2, "image": {"tag": "x"}}`)},
			Install:         &helmv2.Install{CRDs: helmv2.CreateReplace, DisableHooks: true},
		},
	}
	r, err := ReleaseOf(hr)
	if err != nil {
		t.Fatal(err)
	}
	want := Release{
		Name:         "cvat-cvat", // "<targetNamespace>-<name>" when releaseName is empty
		Namespace:    "cvat",
		Values:       map[string]any{"replicas": float64(2), "image": map[string]any{"tag": "x"}},
		IncludeCRDs:  true,
		DisableHooks: true,
		HelmRelease:  types.NamespacedName{Namespace: "flux-apps", Name: "cvat"},
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	hr.Spec.ReleaseName = "web"
	hr.Spec.TargetNamespace = ""
	hr.Spec.Install = &helmv2.Install{CRDs: helmv2.Skip}
	if r, _ := ReleaseOf(hr); r.Name != "web" || r.Namespace != "flux-apps" || r.IncludeCRDs {
		t.Errorf("releaseName, no targetNamespace, crds Skip: %+v", r)
	}
	hr.Spec.Install = nil
	if r, _ := ReleaseOf(hr); !r.IncludeCRDs {
		t.Error("install.crds defaults to Create: CRDs are applied")
	}

	// Past 53 characters, helm-controller shortens the name with a hash.
	hr.Spec.ReleaseName = strings.Repeat("a", 60)
	r, _ = ReleaseOf(hr)
	if len(r.Name) != 53 || !strings.HasPrefix(r.Name, strings.Repeat("a", 40)+"-") {
		t.Errorf("shortened name %q", r.Name)
	}

	hr.Spec.ValuesFrom = []helmv2.ValuesReference{{Kind: "ConfigMap", Name: "v"}}
	if _, err := ReleaseOf(hr); err == nil || !strings.Contains(err.Error(), "valuesFrom") {
		t.Errorf("valuesFrom: err = %v", err)
	}
}

func BenchmarkRender(b *testing.B) {
	ch := testChart(b)
	r := release()
	for b.Loop() {
		if _, err := Render(ch, r); err != nil {
			b.Fatal(err)
		}
	}
}
