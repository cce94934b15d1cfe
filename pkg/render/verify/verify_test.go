package verify_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/polylab/polylab-gitops/pkg/render/tree"
	"github.com/polylab/polylab-gitops/pkg/render/verify"
)

// base is a small valid tree: the sync objects, one unit creating a
// namespace, one unit with a Deployment and its Service.
func base() map[string]string {
	return map[string]string{
		"kustomization.yaml":             "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [flux-system, apps.yaml]\n",
		"flux-system/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [gotk-sync.yaml]\n",
		"flux-system/gotk-sync.yaml": `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 1m, url: https://git.example.com/x.git, ref: {branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec: {interval: 10m, path: ./clusters/t, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
`,
		"apps.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: namespaces, namespace: flux-system}
spec: {interval: 10m, path: ./clusters/t/namespaces, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec: {interval: 10m, path: ./clusters/t/web, prune: true, dependsOn: [{name: namespaces}], sourceRef: {kind: GitRepository, name: flux-system}}
`,
		"namespaces/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [ns.yaml]\n",
		"namespaces/ns.yaml":            "apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n",
		"web/kustomization.yaml":        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deploy.yaml, svc.yaml]\n",
		"web/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
`,
		"web/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n",
	}
}

func treeOf(t *testing.T, files map[string]string) *tree.Tree {
	t.Helper()
	tr := tree.New()
	for name, content := range files {
		if err := tr.Add(name, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func TestValidTree(t *testing.T) {
	built, err := verify.Tree(treeOf(t, base()), "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(built.Kustomizations) != 3 || len(built.Objects) != 7 {
		t.Errorf("built %d Kustomizations and %d objects", len(built.Kustomizations), len(built.Objects))
	}
}

// TestBrokenTreeRefused breaks the valid tree in one way at a time; each
// must be refused with a message naming the object and the reason.
func TestBrokenTreeRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(map[string]string)
		want string
	}{
		"folder does not build": {
			edit: func(f map[string]string) { delete(f, "web/svc.yaml") },
			want: "Kustomization web: kustomize build clusters/t/web",
		},
		"unknown field": {
			edit: func(f map[string]string) {
				f["web/deploy.yaml"] = strings.Replace(f["web/deploy.yaml"], "spec:\n", "spec:\n  replica: 2\n", 1)
			},
			want: `Deployment/web/web (Kustomization web): does not decode strictly into *v1.Deployment: json: unknown field "replica"`,
		},
		"field of the wrong type": {
			edit: func(f map[string]string) {
				f["web/deploy.yaml"] = strings.Replace(f["web/deploy.yaml"], "spec:\n", "spec:\n  replicas: two\n", 1)
			},
			want: `Deployment/web/web (Kustomization web): does not decode strictly into *v1.Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`,
		},
		"kind without Go type": {
			edit: func(f map[string]string) {
				f["web/svc.yaml"] += "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: web}\n"
			},
			want: "no Go type is registered for example.com/v1 Widget",
		},
		"dependsOn a missing unit": {
			edit: func(f map[string]string) {
				f["apps.yaml"] = strings.Replace(f["apps.yaml"], "[{name: namespaces}]", "[{name: namespaces}, {name: storage}]", 1)
			},
			want: "Kustomization web depends on storage, which is not rendered",
		},
		"namespace nobody creates": {
			edit: func(f map[string]string) {
				f["web/svc.yaml"] = strings.Replace(f["web/svc.yaml"], "namespace: web", "namespace: other", 1)
			},
			want: "Service/other/web (Kustomization web) is in namespace other, which nothing creates",
		},
		"namespace created by a unit not depended on": {
			edit: func(f map[string]string) {
				f["apps.yaml"] = strings.Replace(f["apps.yaml"], ", dependsOn: [{name: namespaces}]", "", 1)
			},
			want: "created by Kustomization namespaces, which web does not depend on",
		},
		"selector matching no pod": {
			edit: func(f map[string]string) {
				f["web/svc.yaml"] = strings.Replace(f["web/svc.yaml"], "{app: web}", "{app: api}", 1)
			},
			want: "Service/web/web selects pods labelled map[app:api], and no workload in namespace web has those labels",
		},
		"object rendered twice": {
			edit: func(f map[string]string) { f["namespaces/ns.yaml"] += "---\n" + f["web/svc.yaml"] },
			want: "Service/web/web is rendered twice",
		},
		"secret in the clear": {
			edit: func(f map[string]string) {
				f["web/svc.yaml"] += "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: web}\nstringData: {password: hunter2}\n"
			},
			want: "Secret/web/s carries data in the clear",
		},
	} {
		t.Run(name, func(t *testing.T) {
			files := base()
			tc.edit(files)
			_, err := verify.Tree(treeOf(t, files), "t", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Error("the error repeats a secret value")
			}
		})
	}
}

// TestConcurrentBuilds verifies trees from several goroutines at once, as
// a library user rendering clusters side by side would; make test runs it
// under the race detector (see kustomize in verify.go).
func TestConcurrentBuilds(t *testing.T) {
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := verify.Tree(treeOf(t, base()), "t", nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
