package review_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polylab/polylab-gitops/pkg/render/review"
	"github.com/polylab/polylab-gitops/pkg/render/tree"
)

// files builds a rendered folder from path, content pairs, each content
// behind the generated-file header, as render writes them.
func files(pairs ...string) review.Files {
	out := review.Files{}
	for i := 0; i < len(pairs); i += 2 {
		out[pairs[i]] = append(tree.Header(pairs[i]), pairs[i+1]...)
	}
	return out
}

func diff(t *testing.T, before, after review.Files) *review.Report {
	t.Helper()
	return review.Diff(before, after)
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
`

// TestFieldPaths: leaves are named by flattened paths, keys with dots or
// slashes in brackets, and a leaf present on one side is added or removed.
func TestFieldPaths(t *testing.T) {
	before := files("apps/web/deployment-web.yaml", deployment)
	after := files("apps/web/deployment-web.yaml", strings.NewReplacer(
		"nginx:1.27", "nginx:1.28",
		"ports: [{containerPort: 80}]", "ports: [{containerPort: 80}, {containerPort: 443}]",
		"  name: web\n  namespace: web\n", "  name: web\n  namespace: web\n  annotations: {example.com/owner: me}\n",
	).Replace(deployment))
	r := diff(t, before, after)
	if len(r.Groups) != 1 || r.Groups[0].Name != "web" || len(r.Groups[0].Objects) != 1 {
		t.Fatalf("groups: %+v", r.Groups)
	}
	var got []string
	for _, f := range r.Groups[0].Objects[0].Fields {
		got = append(got, fmt.Sprintf("%s %s: %v -> %v", f.Action, f.Path, f.Old, f.New))
	}
	want := []string{
		`added metadata.annotations["example.com/owner"]: <nil> -> me`,
		`changed spec.template.spec.containers[name=web].image: nginx:1.27 -> nginx:1.28`,
		`added spec.template.spec.containers[name=web].ports[1].containerPort: <nil> -> 443`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
}

// TestGroups: objects belong to the Kustomization of their folder, the
// top-level files to flux-system; hosts and Markdown are compared as text;
// Kustomize's kustomization.yaml is no object; an unchanged model is empty.
func TestGroups(t *testing.T) {
	before := files(
		"apps.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: web, namespace: flux-system}\nspec: {prune: true}\n",
		"apps/web/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment-web.yaml]\n",
		"apps/web/deployment-web.yaml", deployment,
		"hosts/s1/node.env", "NODE='s1'\n",
		"README.md", "# old\n",
	)
	if r := diff(t, before, before); !r.Empty() || len(r.Dangers) != 0 {
		t.Fatalf("an unchanged tree reports %+v", r)
	}
	after := files(
		"apps.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: web, namespace: flux-system}\nspec: {prune: true, wait: true}\n",
		"apps/web/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment-web.yaml, service-web.yaml]\n",
		"apps/web/deployment-web.yaml", deployment,
		"apps/web/service-web.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: web}\nspec: {selector: {app: web}}\n",
		"hosts/s1/node.env", "NODE='s1'\nROLE='server'\n",
		"README.md", "# new\n",
	)
	r := diff(t, before, after)
	var got []string
	for _, g := range r.Groups {
		for _, o := range g.Objects {
			got = append(got, fmt.Sprintf("%s: %s %s", g.Name, o.Action, o.Key))
		}
		for _, f := range g.Files {
			got = append(got, fmt.Sprintf("%s: %s %s", g.Name, f.Action, f.Path))
		}
	}
	want := []string{
		"flux-system: changed Kustomization/flux-system/web",
		"web: added Service/web/web",
		"docs (not applied): changed README.md",
		"hosts (bootstrap inputs, not applied by Flux): changed hosts/s1/node.env",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
}

// TestAPIVersionIsNoDeletion: an object keeps its identity across API
// versions, as Flux's inventory does.
func TestAPIVersionIsNoDeletion(t *testing.T) {
	r := diff(t,
		files("apps/x/hpa.yaml", "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: x, namespace: x}\n"),
		files("apps/x/hpa.yaml", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: x, namespace: x}\n"))
	if len(r.Dangers) != 0 || r.Count(review.Changed) != 1 || r.Count(review.Removed) != 0 {
		t.Errorf("report: %+v", r)
	}
}

// TestOnDisk: the files a plan saw on disk are the tree's, changes undone.
func TestOnDisk(t *testing.T) {
	dir := t.TempDir()
	old := tree.New()
	old.Add("keep.yaml", []byte("a: 1\n"))
	old.Add("change.yaml", []byte("b: 1\n"))
	old.Add("gone.yaml", []byte("c: 1\n"))
	plan, _ := tree.Compare(old, dir)
	if err := plan.Apply(); err != nil {
		t.Fatal(err)
	}
	cur := tree.New()
	cur.Add("keep.yaml", []byte("a: 1\n"))
	cur.Add("change.yaml", []byte("b: 2\n"))
	cur.Add("new.yaml", []byte("d: 1\n"))
	plan, err := tree.Compare(cur, dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(review.TreeFiles(old), review.OnDisk(cur, plan)); d != "" {
		t.Errorf("on disk (-want +got):\n%s", d)
	}
}

// TestHandEditedTree: a folder edited by hand (a copy of an object, a
// file that is no YAML) is still compared, the odd files as text: of two
// files holding the same object, the first by path counts.
func TestHandEditedTree(t *testing.T) {
	before := files("apps/web/deployment-web.yaml", deployment, "apps/web/copy.yaml", deployment, "apps/web/broken.yaml", "a: [\n")
	r := diff(t, before, files("apps/web/deployment-web.yaml", deployment))
	var got []string
	for _, g := range r.Groups {
		for _, f := range g.Files {
			got = append(got, fmt.Sprintf("%s: %s %s", g.Name, f.Action, f.Path))
		}
	}
	if d := cmp.Diff([]string{"web: removed apps/web/broken.yaml", "web: removed apps/web/deployment-web.yaml"}, got); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
}

const setPolicy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: web}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - ipBlock: {cidr: 10.0.0.0/24}
    - ipBlock: {cidr: 10.0.0.11/32}
    - ipBlock: {cidr: 10.0.0.13/32}
    - ipBlock: {cidr: 10.42.0.0/32}
    ports:
    - {port: 80, protocol: TCP}
    - {port: 443, protocol: TCP}
`

const setService = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: web}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: https, port: 443, targetPort: 8443}
`

// TestSetLists: lists whose order means nothing are compared as sets. A
// peer added among a policy's ipBlocks is one added leaf, however many
// follow it; reordering a set changes nothing; items with a name are
// matched by it, and a changed item shows under its name.
func TestSetLists(t *testing.T) {
	fields := func(before, after review.Files) []string {
		t.Helper()
		var got []string
		for _, g := range diff(t, before, after).Groups {
			for _, o := range g.Objects {
				for _, f := range o.Fields {
					got = append(got, fmt.Sprintf("%s %s: %v -> %v", f.Action, f.Path, f.Old, f.New))
				}
			}
		}
		return got
	}
	for _, tc := range []struct {
		what, file, base, old, new string
		want                       []string
	}{{
		what: "a node's address among the ipBlocks", file: "infrastructure/network-policies-web/networkpolicy-allow-web.yaml", base: setPolicy,
		old:  "    - ipBlock: {cidr: 10.0.0.13/32}\n",
		new:  "    - ipBlock: {cidr: 10.0.0.12/32}\n    - ipBlock: {cidr: 10.0.0.13/32}\n",
		want: []string{"added spec.ingress[0].from[2].ipBlock.cidr: <nil> -> 10.0.0.12/32"},
	}, {
		what: "a node's address gone, another added", file: "infrastructure/network-policies-web/networkpolicy-allow-web.yaml", base: setPolicy,
		old: "    - ipBlock: {cidr: 10.0.0.11/32}\n    - ipBlock: {cidr: 10.0.0.13/32}\n",
		new: "    - ipBlock: {cidr: 10.0.0.12/32}\n    - ipBlock: {cidr: 10.0.0.13/32}\n",
		// One peer in place of another reads as the field that changed.
		want: []string{"changed spec.ingress[0].from[1].ipBlock.cidr: 10.0.0.11/32 -> 10.0.0.12/32"},
	}, {
		what: "an address gone and two others added", file: "infrastructure/network-policies-web/networkpolicy-allow-web.yaml", base: setPolicy,
		old:  "    - ipBlock: {cidr: 10.0.0.11/32}\n    - ipBlock: {cidr: 10.0.0.13/32}\n",
		new:  "    - ipBlock: {cidr: 10.0.0.13/32}\n    - ipBlock: {cidr: 10.0.0.14/32}\n    - ipBlock: {cidr: 10.0.0.15/32}\n",
		want: []string{"removed spec.ingress[0].from[1].ipBlock.cidr: 10.0.0.11/32 -> <nil>", "added spec.ingress[0].from[2].ipBlock.cidr: <nil> -> 10.0.0.14/32", "added spec.ingress[0].from[3].ipBlock.cidr: <nil> -> 10.0.0.15/32"},
	}, {
		what: "two named ports become one unnamed: compared by index", file: "apps/web/service-web.yaml", base: setService,
		old: "  - {name: http, port: 80, targetPort: 8080}\n  - {name: https, port: 443, targetPort: 8443}\n",
		new: "  - {port: 80, targetPort: 8081}\n",
		want: []string{"removed spec.ports[0].name: http -> <nil>", "changed spec.ports[0].targetPort: 8080 -> 8081",
			"removed spec.ports[1].name: https -> <nil>", "removed spec.ports[1].port: 443 -> <nil>", "removed spec.ports[1].targetPort: 8443 -> <nil>"},
	}, {
		what: "policy ports and types reordered", file: "infrastructure/network-policies-web/networkpolicy-allow-web.yaml", base: setPolicy,
		old: "    - {port: 80, protocol: TCP}\n    - {port: 443, protocol: TCP}\n",
		new: "    - {port: 443, protocol: TCP}\n    - {port: 80, protocol: TCP}\n",
	}, {
		what: "Service ports reordered", file: "apps/web/service-web.yaml", base: setService,
		old: "  - {name: http, port: 80, targetPort: 8080}\n  - {name: https, port: 443, targetPort: 8443}\n",
		new: "  - {name: https, port: 443, targetPort: 8443}\n  - {name: http, port: 80, targetPort: 8080}\n",
	}, {
		what: "a Service port changed and one added", file: "apps/web/service-web.yaml", base: setService,
		old: "  - {name: http, port: 80, targetPort: 8080}\n",
		new: "  - {name: admin, port: 81}\n  - {name: http, port: 80, targetPort: 8081}\n",
		want: []string{"added spec.ports[name=admin].name: <nil> -> admin", "added spec.ports[name=admin].port: <nil> -> 81",
			"changed spec.ports[name=http].targetPort: 8080 -> 8081"},
	}, {
		what: "an ordered list stays ordered", file: "apps/web/deployment-web.yaml", base: deployment,
		old:  "        image: nginx:1.27\n",
		new:  "        image: nginx:1.27\n        args: [--b, --a]\n",
		want: []string{"added spec.template.spec.containers[name=web].args[0]: <nil> -> --b", "added spec.template.spec.containers[name=web].args[1]: <nil> -> --a"},
	}} {
		t.Run(tc.what, func(t *testing.T) {
			if !strings.Contains(tc.base, tc.old) {
				t.Fatalf("the base lacks %q", tc.old)
			}
			got := fields(files(tc.file, tc.base), files(tc.file, strings.Replace(tc.base, tc.old, tc.new, 1)))
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("fields (-want +got):\n%s", d)
			}
		})
	}
}
