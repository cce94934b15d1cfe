// Package charts pulls Helm charts, keeps them in a content-addressed
// cache, and renders them as Flux's helm-controller v1.6 installs a
// HelmRelease, with Helm's own SDK (helm.sh/helm/v4), offline.
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
// Render runs Helm's install action in client-only dry-run mode, set up as
// helm-controller sets it up, so what helm-controller would refuse (a
// kubeVersion constraint, a values schema) is an error here too, and no
// template can read a cluster. README.md in this folder gives the design,
// the helm-controller sources each choice follows, what importing Helm
// costs (compile time, binary size, start-up) and what is left to do.
package charts
