// Package charts pulls Helm charts, keeps them in a content-addressed
// cache, renders them as Flux's helm-controller v1.6 installs a
// HelmRelease, with Helm's own SDK (helm.sh/helm/v4), offline, and checks
// a cluster's model against what its charts render (RenderTree, Check).
// cmd/render-charts is its command: pkg/render never imports it, so a
// plain render does not link Helm.
//
//	c, _ := charts.OpenCache("")                 // ~/.cache/polylab-gitops/charts
//	sums, _ := charts.ReadSums("charts.sum")      // committed: <repository> <name> <version> sha256:<hex>
//	digests, err := charts.Fetch(ctx, c, sums, refs, os.Stderr)
//	_ = sums.Write("charts.sum")
//	ch, _ := c.Load(digests[ref])
//	rel, _ := charts.ReleaseOf(helmRelease)       // name, namespace, values as helm-controller reads them
//	rel.KubeVersion = "v1.34.2+k3s1"
//	objs, err := charts.Render(ch, rel)           // sorted; hooks marked; CRDs included per install.crds
//
// or, for a whole rendered cluster (render.Build's Result r):
//
//	rendered, err := charts.RenderTree(ctx, charts.FromBuilt(r.Built), charts.Options{Cache: c, Sums: sums, KubeVersion: r.Model.Versions.K3s})
//	report, err := charts.Check(charts.Input{Model: r.Model, Units: r.Units, Built: r.Built, Rendered: rendered})
//
// Render runs Helm's install action in client-only dry-run mode, set up as
// helm-controller sets it up, so what helm-controller would refuse (a
// kubeVersion constraint, a values schema) is an error here too, and no
// template can read a cluster. README.md in this folder gives the design,
// the helm-controller sources each choice follows, what importing Helm
// costs (compile time, binary size, start-up) and what is left to do.
package charts
