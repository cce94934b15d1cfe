package charts

import (
	"context"
	"errors"
	"strings"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/polylab/polylab-gitops/pkg/render/verify"
)

// appRef is the test chart testdata/charts/app, with one of everything
// the checks look at.
var appRef = Ref{Repository: "https://charts.example", Name: "app", Version: "0.1.0"}

// parentRef is the test chart testdata/charts/parent, which carries CRDs.
var parentRef = Ref{Repository: "https://charts.example", Name: "parent", Version: "1.2.3"}

func helmRelease(unit, name, chart, version string) verify.Object {
	hr := &helmv2.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: name},
		Spec: helmv2.HelmReleaseSpec{Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
			Chart: chart, Version: version,
			SourceRef: helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts", Namespace: "flux-system"},
		}}},
	}
	return verify.Object{Unit: unit, Kind: helmv2.HelmReleaseKind, Namespace: name, Name: name, Typed: hr}
}

func repository(url string) verify.Object {
	return verify.Object{Unit: "sources", Kind: sourcev1.HelmRepositoryKind, Namespace: "flux-system", Name: "charts",
		Typed: &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Name: "charts", Namespace: "flux-system"}, Spec: sourcev1.HelmRepositorySpec{URL: url}}}
}

func testCache(t *testing.T) *Cache {
	t.Helper()
	c := openCache(t)
	for ref, dir := range map[Ref]string{appRef: "testdata/charts/app", parentRef: "testdata/charts/parent"} {
		if _, err := c.Add(ref, archiveDir(t, dir)); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// A chart sees the CRDs that the charts of the units its unit depends on
// install, as it would at its first install, and not others'.
func TestRenderTreeSeesTheCRDsOfItsDependencies(t *testing.T) {
	c := testCache(t)
	objects := []verify.Object{repository("https://charts.example"), helmRelease("crds", "crds", "parent", "1.2.3"), helmRelease("web", "web", "app", "0.1.0")}
	for _, tc := range []struct {
		name      string
		dependsOn map[string][]string
		want      string
	}{
		{"after the CRDs", map[string][]string{"web": {"crds"}}, "Gadget /web-gadget"},
		{"independent", map[string][]string{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rendered, err := RenderTree(context.Background(), Tree{Objects: objects, DependsOn: tc.dependsOn}, Options{Cache: c, KubeVersion: k3s})
			if err != nil {
				t.Fatal(err)
			}
			if len(rendered) != 2 || rendered[1].HelmRelease.Name != "web" {
				t.Fatalf("rendered %d releases", len(rendered))
			}
			got := ""
			for _, s := range summary(rendered[1].Objects) {
				if strings.HasPrefix(s, "Gadget") {
					got = s // cluster-scoped: no namespace
				}
			}
			if got != tc.want {
				t.Errorf("web renders %q, want %q", got, tc.want)
			}
		})
	}
}

// A chart missing from the cache (and the network) is named; the others render.
func TestRenderTreeMissing(t *testing.T) {
	// Nothing listens on port 1 of loopback: a pull fails at once.
	objects := []verify.Object{repository("http://127.0.0.1:1"), helmRelease("web", "web", "app", "0.1.0"), helmRelease("other", "other", "gone", "9.9.9")}
	c := openCache(t)
	if _, err := c.Add(Ref{Repository: "http://127.0.0.1:1", Name: "app", Version: "0.1.0"}, archiveDir(t, "testdata/charts/app")); err != nil {
		t.Fatal(err)
	}
	rendered, err := RenderTree(context.Background(), Tree{Objects: objects}, Options{Cache: c, KubeVersion: k3s})
	var missing *MissingError
	if !errors.As(err, &missing) || len(missing.Charts) != 1 || missing.Charts[0].Ref.Name != "gone" {
		t.Fatalf("err = %v, want the chart gone missing", err)
	}
	if len(rendered) != 1 || rendered[0].HelmRelease.Name != "web" {
		t.Errorf("rendered %d releases, want web", len(rendered))
	}
}

func TestInstalls(t *testing.T) {
	oci := func(url string, ref *sourcev1.OCIRepositoryRef) verify.Object {
		return verify.Object{Kind: sourcev1.OCIRepositoryKind, Namespace: "cvat", Name: "cvat",
			Typed: &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Name: "cvat", Namespace: "cvat"}, Spec: sourcev1.OCIRepositorySpec{URL: url, Reference: ref}}}
	}
	release := verify.Object{Unit: "cvat", Kind: helmv2.HelmReleaseKind, Namespace: "cvat", Name: "cvat", Typed: &helmv2.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Name: "cvat", Namespace: "cvat"},
		Spec:       helmv2.HelmReleaseSpec{ChartRef: &helmv2.CrossNamespaceSourceReference{Kind: sourcev1.OCIRepositoryKind, Name: "cvat"}},
	}}
	installs, err := Installs(Tree{Objects: []verify.Object{oci("oci://registry.example/cvat/cvat", &sourcev1.OCIRepositoryRef{Tag: "2.56.1"}), release}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Ref{{Repository: "oci://registry.example/cvat", Name: "cvat", Version: "2.56.1"}}, Refs(installs)); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
	for _, bad := range []*sourcev1.OCIRepositoryRef{{SemVer: "2.x"}, {Tag: "2.56.1", Digest: "sha256:00"}, nil} {
		if _, err := Installs(Tree{Objects: []verify.Object{oci("oci://registry.example/cvat/cvat", bad), release}}); err == nil || !strings.Contains(err.Error(), "pin the chart by spec.ref.tag alone") {
			t.Errorf("%+v: err = %v", bad, err)
		}
	}
	ranged := helmRelease("web", "web", "app", ">=0.1.0")
	if _, err := Installs(Tree{Objects: []verify.Object{repository("https://charts.example"), ranged}}); err == nil || !strings.Contains(err.Error(), `pin an exact version, not ">=0.1.0"`) {
		t.Errorf("a version range: err = %v", err)
	}
}

// The other side of render -diff is read from files as Flux applies them.
func TestFromFiles(t *testing.T) {
	files := map[string][]byte{
		"apps.yaml": []byte(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  dependsOn: [{name: crds}]
  interval: 1h
  path: ./clusters/tiny/apps/web
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
`),
		"apps/web/helmrelease-web.yaml": []byte(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: web}
spec:
  interval: 1h
  chart:
    spec:
      chart: app
      version: 0.1.0
      sourceRef: {kind: HelmRepository, name: web}
`),
		"apps/web/helmrepository-web.yaml": []byte(`apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: web, namespace: web}
spec: {url: "https://charts.example", interval: 1h}
`),
		"apps/web/service-web.yaml": []byte("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"),
		"README.md":                 []byte("# not YAML"),
	}
	tree, err := FromFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{"web": {"crds"}}, tree.DependsOn); diff != "" {
		t.Errorf("dependsOn (-want +got):\n%s", diff)
	}
	installs, err := Installs(tree)
	if err != nil {
		t.Fatal(err)
	}
	if len(installs) != 1 || installs[0].Unit != "web" || installs[0].Ref != appRef {
		t.Errorf("installs %+v, want web's app 0.1.0 in unit web", installs)
	}
}
