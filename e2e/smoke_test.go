package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/polylab/polylab-gitops/e2e/cluster"
	"github.com/polylab/polylab-gitops/e2e/gitserver"
)

// fluxTimeout bounds each wait on Flux. The GitRepository polls every 10s
// and a first reconcile of a small tree takes a few seconds more.
const fluxTimeout = 2 * time.Minute

// TestHarnessSmoke proves the harness end to end on a tiny tree: Flux pulls
// it from the loopback git server and applies it, then applies a second
// revision and prunes what that revision dropped.
func TestHarnessSmoke(t *testing.T) {
	skipIfShort(t)
	ctx := t.Context()
	c := cluster.Start(t)
	repo := gitserver.Start(t).NewRepo("smoke")

	tree := t.TempDir()
	writeFile(t, tree, "clusters/smoke/kustomization.yaml", kustomization("one.yaml"))
	writeFile(t, tree, "clusters/smoke/one.yaml", configMap("one"))
	first := repo.Push(tree, "add one")

	began := time.Now()
	if _, err := c.Apply(ctx, []byte(syncObjects(repo.URL(), "./clusters/smoke"))); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitKustomizationsReady(ctx, fluxTimeout); err != nil {
		t.Fatal(err)
	}
	sync := client.ObjectKey{Namespace: cluster.FluxNamespace, Name: "flux-system"}
	if err := c.WaitKustomizationRevision(ctx, sync, repo.Revision(first), fluxTimeout); err != nil {
		t.Fatal(err)
	}
	t.Logf("first revision applied %s after the sync objects", time.Since(began).Round(time.Millisecond))
	assertConfigMap(t, c, "one", true)

	// Second revision: one goes, two comes; prune must delete one.
	if err := os.Remove(filepath.Join(tree, "clusters/smoke/one.yaml")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, tree, "clusters/smoke/two.yaml", configMap("two"))
	writeFile(t, tree, "clusters/smoke/kustomization.yaml", kustomization("two.yaml"))
	second := repo.Push(tree, "replace one by two")
	began = time.Now()
	// Rather than wait out the GitRepository's 10s interval.
	source := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: cluster.FluxNamespace, Name: "flux-system"}}
	if err := c.RequestReconcile(ctx, source); err != nil {
		t.Fatal(err)
	}

	if err := c.WaitKustomizationRevision(ctx, sync, repo.Revision(second), fluxTimeout); err != nil {
		t.Fatal(err)
	}
	t.Logf("second revision applied %s after the push", time.Since(began).Round(time.Millisecond))
	assertConfigMap(t, c, "two", true)
	assertConfigMap(t, c, "one", false)

	live, err := c.List(ctx, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, client.InNamespace("default"),
		client.MatchingLabels{"kustomize.toolkit.fluxcd.io/name": "flux-system"})
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || live[0].GetName() != "two" {
		t.Errorf("ConfigMaps applied by Flux: %d, want only %q", len(live), "two")
	}
}

// syncObjects is the GitRepository + Kustomization pair that flux bootstrap
// would commit, pointing at url and path.
func syncObjects(url, path string) string {
	return fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10s
  url: %s
  ref:
    branch: %s
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 30s
  path: %s
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`, url, gitserver.Branch, path)
}

func kustomization(resources ...string) string {
	s := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
	for _, r := range resources {
		s += "  - " + r + "\n"
	}
	return s
}

func configMap(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
  namespace: default
data:
  name: %s
`, name, name)
}

func writeFile(t *testing.T, root, rel, content string) {
	t.Helper()
	path := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// assertConfigMap checks that ConfigMap default/name exists (or not).
func assertConfigMap(t *testing.T, c *cluster.Cluster, name string, want bool) {
	t.Helper()
	var cm corev1.ConfigMap
	err := c.Client.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: name}, &cm)
	switch {
	case want && err != nil:
		t.Errorf("ConfigMap default/%s: %v", name, err)
	case want && cm.Data["name"] != name:
		t.Errorf("ConfigMap default/%s data = %v", name, cm.Data)
	case !want && err == nil:
		t.Errorf("ConfigMap default/%s still exists; Flux should have pruned it", name)
	case !want && !apierrors.IsNotFound(err):
		t.Errorf("ConfigMap default/%s: %v", name, err)
	}
}
