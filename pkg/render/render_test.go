package render_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"sigs.k8s.io/yaml"

	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/tree"
)

func build(t testing.TB, cluster string) *tree.Tree {
	t.Helper()
	r, err := render.Build(embedded, cluster)
	if err != nil {
		var b bytes.Buffer
		render.PrintError(&b, err, "")
		t.Fatalf("render %s:\n%s", cluster, b.String())
	}
	return r.Tree
}

// writeTree writes a tree into dir through the same path the CLI uses.
func writeTree(t testing.TB, tr *tree.Tree, dir string) {
	t.Helper()
	plan, err := tree.Compare(tr, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Apply(); err != nil {
		t.Fatal(err)
	}
}

// TestGoldenTrees renders each cluster and compares every file with the
// golden tree: the example cluster under testdata/golden, polylab with the
// committed clusters/polylab (make render rewrites it).
func TestGoldenTrees(t *testing.T) {
	for cluster, dir := range map[string]string{
		"example": "testdata/golden/example",
		"polylab": "../../clusters/polylab",
	} {
		t.Run(cluster, func(t *testing.T) {
			tr := build(t, cluster)
			if update && cluster == "example" {
				writeTree(t, tr, dir)
			}
			plan, err := tree.Compare(tr, dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range plan.Changes {
				t.Errorf("%s: %s (UPDATE_GOLDEN=1 rewrites the example; `go run ./cmd/render` rewrites polylab)", c.Kind, filepath.Join(dir, c.Path))
			}
		})
	}
}

// TestIdempotent renders twice and expects the same bytes, and a second
// write to change nothing.
func TestIdempotent(t *testing.T) {
	for _, cluster := range []string{"example", "polylab"} {
		first, second := build(t, cluster), build(t, cluster)
		if strings.Join(first.Paths(), "\n") != strings.Join(second.Paths(), "\n") {
			t.Fatalf("%s: two renders list different files", cluster)
		}
		for _, p := range first.Paths() {
			a, _ := first.File(p)
			b, _ := second.File(p)
			if !bytes.Equal(a, b) {
				t.Errorf("%s: %s differs between two renders", cluster, p)
			}
		}
		dir := t.TempDir()
		writeTree(t, first, dir)
		plan, err := tree.Compare(second, dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Changes) != 0 || plan.Unchanged != first.Len() {
			t.Errorf("%s: a second write would change %d files", cluster, len(plan.Changes))
		}
	}
}

// TestEveryFileHasHeader checks every generated file starts with the
// generated-file marker and names the command that regenerates it.
func TestEveryFileHasHeader(t *testing.T) {
	for _, cluster := range []string{"example", "polylab"} {
		tr := build(t, cluster)
		for _, p := range tr.Paths() {
			b, _ := tr.File(p)
			first, _, _ := bytes.Cut(b, []byte("\n"))
			if !tree.Generated(b) || !bytes.Contains(first, []byte(tree.Command)) {
				t.Errorf("%s/%s starts with %q", cluster, p, first)
			}
		}
	}
}

// TestNoSecretValues fails if any rendered Secret carries data or any
// manifest has a status: the renderer writes neither.
func TestNoSecretValues(t *testing.T) {
	for _, cluster := range []string{"example", "polylab"} {
		tr := build(t, cluster)
		for _, p := range tr.Paths() {
			if !strings.HasSuffix(p, ".yaml") || strings.HasPrefix(p, "hosts/") {
				continue
			}
			b, _ := tr.File(p)
			for _, doc := range bytes.Split(b, []byte("\n---\n")) {
				var obj map[string]any
				if err := yaml.Unmarshal(doc, &obj); err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if obj["kind"] == "Secret" && (obj["data"] != nil || obj["stringData"] != nil) {
					t.Errorf("%s/%s renders a Secret with a value", cluster, p)
				}
				if _, ok := obj["status"]; ok {
					t.Errorf("%s/%s renders a status", cluster, p)
				}
			}
		}
	}
}

// TestNoPolylabFactsInGo greps the Go sources: every polylab-specific IP,
// name and version lives in the CUE data, never in code.
func TestNoPolylabFactsInGo(t *testing.T) {
	c := loadPolylab(t)
	facts := []string{c.Network.LAN.String(), c.Network.APIVIP.String(), c.Network.LoadBalancerPool.First.String(), c.Network.LoadBalancerPool.Last.String(),
		c.Versions.K3s, c.Versions.Flux, c.Flux.URL, "192.168.20."}
	for _, n := range c.Nodes {
		facts = append(facts, n.Name)
		if n.IP.IsValid() {
			facts = append(facts, n.IP.String())
		}
	}
	for _, ch := range c.Versions.Charts {
		facts = append(facts, `"`+ch.Version+`"`)
	}
	for _, img := range c.Versions.Images {
		facts = append(facts, img)
	}
	for _, app := range c.Apps {
		for _, w := range app.Workloads {
			for _, lb := range w.LoadBalancers {
				facts = append(facts, lb.IP.String())
			}
		}
	}
	fact := regexp.MustCompile(strings.Join(quoteAll(facts), "|"))
	err := filepath.WalkDir("../..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "e2e" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != "../.." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := fact.FindString(line); m != "" {
				t.Errorf("%s:%d writes the polylab fact %q in Go; take it from the model", p, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = regexp.QuoteMeta(s)
	}
	return out
}

// TestReleasesRetryInPlace: every HelmRelease retries a failed install or
// upgrade in place (no uninstall between attempts, no stall after the
// last), and its Flux Kustomization waits longer than the release does,
// so that Flux reports the release's failure rather than its own timeout.
func TestReleasesRetryInPlace(t *testing.T) {
	for _, cluster := range []string{"example", "polylab"} {
		r, err := render.Build(embedded, cluster)
		if err != nil {
			t.Fatal(err)
		}
		units := map[string]*kustomizev1.Kustomization{}
		for _, ks := range r.Built.Kustomizations {
			units[ks.Name] = ks
		}
		releases := 0
		for _, o := range r.Built.Objects {
			hr, ok := o.Typed.(*helmv2.HelmRelease)
			if !ok {
				continue
			}
			releases++
			in, up := hr.Spec.Install, hr.Spec.Upgrade
			if in == nil || in.Strategy == nil || in.Strategy.Name != string(helmv2.ActionStrategyRetryOnFailure) || in.Remediation != nil {
				t.Errorf("%s: install %+v, want strategy RetryOnFailure and no remediation", o.Ref(), in)
			}
			if up == nil || up.Strategy == nil || up.Strategy.Name != string(helmv2.ActionStrategyRetryOnFailure) {
				t.Errorf("%s: upgrade %+v, want strategy RetryOnFailure", o.Ref(), up)
			}
			ks := units[o.Unit]
			if hr.Spec.Timeout == nil || ks == nil || ks.Spec.Timeout == nil || ks.Spec.Timeout.Duration <= hr.Spec.Timeout.Duration {
				t.Errorf("%s waits %v; its Kustomization %s must wait longer", o.Ref(), hr.Spec.Timeout, o.Unit)
			}
		}
		if releases == 0 {
			t.Errorf("%s renders no HelmRelease", cluster)
		}
	}
}
