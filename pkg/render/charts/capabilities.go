package charts

import (
	"slices"
	"strings"
	"sync"

	"helm.sh/helm/v4/pkg/chart/common"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

// builtinKinds are "<group/version>/<Kind>" for the kinds of every group
// version in Helm's offline API list (common.DefaultVersionSet, built from
// client-go's scheme). Against a cluster, Helm lists both forms, the group
// version and each kind in it (pkg/action/action.go, GetVersionSet), and
// charts test for kinds: `.Capabilities.APIVersions.Has
// "networking.k8s.io/v1/Ingress"` picks an Ingress's API version in many
// charts. Offline Helm lists group versions only, so without these a chart
// would render for an older cluster than helm-controller renders it for.
var builtinKinds = sync.OnceValue(func() []string {
	var out []string
	for _, s := range common.DefaultVersionSet {
		gv, err := schema.ParseGroupVersion(s)
		if err != nil {
			continue
		}
		for kind := range scheme.Scheme.KnownTypes(gv) {
			// Lists, option structs and watch events are Go types of the
			// scheme, not resources discovery lists.
			if strings.HasSuffix(kind, "List") || strings.HasSuffix(kind, "Options") || kind == "WatchEvent" {
				continue
			}
			out = append(out, s+"/"+kind)
		}
	}
	slices.Sort(out)
	return out
})

// apiVersions returns the API versions a template sees beyond Helm's
// default group versions: the built-in kinds, the caller's, and, when
// the release applies CRDs, every served version and kind of the CRDs of
// the enabled charts. helm-controller applies those CRDs before Helm asks
// the cluster what it serves (internal/action/install.go, applyCRDs before
// RunWithContext; Helm invalidates its discovery cache then), so a chart
// that renders a custom resource only when its API is there does render it.
func apiVersions(r Release, enabled *helmchart.Chart) ([]string, error) {
	out := append(slices.Clone(builtinKinds()), r.APIVersions...)
	if !r.IncludeCRDs {
		return out, nil
	}
	for _, obj := range enabled.CRDObjects() {
		crds, err := readCRDs(obj.File.Data)
		if err != nil {
			return nil, err
		}
		for _, crd := range crds {
			out = append(out, crd.apiVersions()...)
		}
	}
	return out, nil
}
