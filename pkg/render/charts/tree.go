package charts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/polylab/polylab-gitops/pkg/render/verify"
)

// Tree is what rendering a cluster's charts needs from its rendered tree:
// every object Flux applies, by the Flux Kustomization that applies it,
// and what each Kustomization depends on.
type Tree struct {
	Objects []verify.Object
	// DependsOn lists, by Kustomization, the Kustomizations it waits for.
	DependsOn map[string][]string
}

// FromBuilt is the Tree of a verified render (render.Result.Built).
func FromBuilt(b *verify.Built) Tree {
	t := Tree{Objects: b.Objects, DependsOn: map[string][]string{}}
	for _, ks := range b.Kustomizations {
		t.DependsOn[ks.Name] = dependencies(ks)
	}
	return t
}

// FromFiles reads the Tree of a cluster folder as files (paths relative to
// clusters/<cluster>, as review.Files holds them), such as the folder at
// a git ref render -diff compares with. It reads only what rendering the
// charts needs: the Flux Kustomizations, HelmReleases and chart sources,
// each unit's by its folder (<layer>/<unit>/...), as Flux applies them.
func FromFiles(files map[string][]byte) (Tree, error) {
	t := Tree{DependsOn: map[string][]string{}}
	var errs []error
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			continue
		}
		unit := "flux-system"
		if parts := strings.Split(p, "/"); len(parts) >= 3 && parts[0] != "flux-system" {
			unit = parts[1]
		}
		for doc, err := range yamlDocs(files[p]) {
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
				break
			}
			o, err := decodeTreeObject(unit, doc)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p, err))
				continue
			}
			if o == nil {
				continue
			}
			t.Objects = append(t.Objects, *o)
			if ks, ok := o.Typed.(*kustomizev1.Kustomization); ok {
				t.DependsOn[ks.Name] = dependencies(ks)
			}
		}
	}
	return t, errors.Join(errs...)
}

// decodeTreeObject decodes one document of a cluster folder if it is one
// of the kinds rendering charts reads; nil for any other.
func decodeTreeObject(unit string, doc []byte) (*verify.Object, error) {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		return nil, err
	}
	var typed any
	switch meta.APIVersion + "/" + meta.Kind {
	case helmv2.GroupVersion.String() + "/" + helmv2.HelmReleaseKind:
		typed = &helmv2.HelmRelease{}
	case sourcev1.GroupVersion.String() + "/" + sourcev1.HelmRepositoryKind:
		typed = &sourcev1.HelmRepository{}
	case sourcev1.GroupVersion.String() + "/" + sourcev1.OCIRepositoryKind:
		typed = &sourcev1.OCIRepository{}
	case kustomizev1.GroupVersion.String() + "/" + kustomizev1.KustomizationKind:
		typed = &kustomizev1.Kustomization{}
	default:
		return nil, nil
	}
	if err := yaml.Unmarshal(doc, typed); err != nil {
		return nil, fmt.Errorf("%s %s: %w", meta.Kind, meta.Metadata.Name, err)
	}
	return &verify.Object{Unit: unit, APIVersion: meta.APIVersion, Kind: meta.Kind,
		Namespace: meta.Metadata.Namespace, Name: meta.Metadata.Name, Typed: typed}, nil
}

func dependencies(ks *kustomizev1.Kustomization) []string {
	var out []string
	for _, d := range ks.Spec.DependsOn {
		out = append(out, d.Name)
	}
	return out
}

// Install is one HelmRelease of a tree and the chart its source pins.
type Install struct {
	// Unit is the Flux Kustomization that applies the HelmRelease.
	Unit        string
	HelmRelease *helmv2.HelmRelease
	// Ref is the chart: the source's repository, the chart's name and
	// its exact version.
	Ref Ref
}

// String names the install as messages do: HelmRelease cvat/cvat.
func (in Install) String() string {
	return "HelmRelease " + in.HelmRelease.Namespace + "/" + in.HelmRelease.Name
}

// Installs finds every HelmRelease of the tree and the chart it installs:
// spec.chart from a HelmRepository (an https:// index, or an oci://
// registry of type oci) names the chart and version; spec.chartRef to an
// OCIRepository names the artifact <url>:<tag>. A source the renderer
// cannot pin to exact bytes (a version range, a semver or digest
// reference, another kind) is an error: the render would not be the one
// helm-controller installs.
func Installs(t Tree) ([]Install, error) {
	sources := map[string]any{}
	for _, o := range t.Objects {
		switch o.Typed.(type) {
		case *sourcev1.HelmRepository, *sourcev1.OCIRepository:
			sources[o.Kind+"/"+o.Namespace+"/"+o.Name] = o.Typed
		}
	}
	var out []Install
	var errs []error
	for _, o := range t.Objects {
		hr, ok := o.Typed.(*helmv2.HelmRelease)
		if !ok {
			continue
		}
		in := Install{Unit: o.Unit, HelmRelease: hr}
		ref, err := chartRef(hr, sources)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (Kustomization %s): %w", in, o.Unit, err))
			continue
		}
		in.Ref = ref
		out = append(out, in)
	}
	return out, errors.Join(errs...)
}

func chartRef(hr *helmv2.HelmRelease, sources map[string]any) (Ref, error) {
	ns := func(n string) string { return cmp.Or(n, hr.Namespace) }
	switch {
	case hr.Spec.ChartRef != nil:
		r := hr.Spec.ChartRef
		src, ok := sources[r.Kind+"/"+ns(r.Namespace)+"/"+r.Name]
		if !ok {
			return Ref{}, fmt.Errorf("spec.chartRef names %s %s/%s, which the tree does not hold", r.Kind, ns(r.Namespace), r.Name)
		}
		oci, ok := src.(*sourcev1.OCIRepository)
		if !ok {
			return Ref{}, fmt.Errorf("spec.chartRef names a %s; only an OCIRepository is read", r.Kind)
		}
		ref := oci.Spec.Reference
		if ref == nil || ref.Tag == "" || ref.Digest != "" || ref.SemVer != "" {
			return Ref{}, fmt.Errorf("OCIRepository %s/%s: pin the chart by spec.ref.tag alone", oci.Namespace, oci.Name)
		}
		url := strings.TrimRight(oci.Spec.URL, "/")
		i := strings.LastIndexByte(url, '/')
		if !strings.HasPrefix(url, "oci://") || i < len("oci://") {
			return Ref{}, fmt.Errorf("OCIRepository %s/%s: spec.url %q is not oci://<registry>/<path>/<chart>", oci.Namespace, oci.Name, oci.Spec.URL)
		}
		return Ref{Repository: url[:i], Name: url[i+1:], Version: ref.Tag}, nil
	case hr.Spec.Chart != nil:
		spec := hr.Spec.Chart.Spec
		s := spec.SourceRef
		src, ok := sources[s.Kind+"/"+ns(s.Namespace)+"/"+s.Name]
		if !ok {
			return Ref{}, fmt.Errorf("spec.chart.spec.sourceRef names %s %s/%s, which the tree does not hold", s.Kind, ns(s.Namespace), s.Name)
		}
		repo, ok := src.(*sourcev1.HelmRepository)
		if !ok {
			return Ref{}, fmt.Errorf("spec.chart.spec.sourceRef names a %s; only a HelmRepository is read", s.Kind)
		}
		if spec.Version == "" || strings.ContainsAny(spec.Version, "<>=~^*|, ") || strings.Contains(spec.Version, ".x") {
			return Ref{}, fmt.Errorf("chart %s: pin an exact version, not %q", spec.Chart, spec.Version)
		}
		return Ref{Repository: repo.Spec.URL, Name: spec.Chart, Version: spec.Version}, nil
	}
	return Ref{}, errors.New("has neither spec.chart nor spec.chartRef")
}

// Refs lists the charts of the installs, each once, in order.
func Refs(installs []Install) []Ref {
	var out []Ref
	for _, in := range installs {
		if !slices.Contains(out, in.Ref.normal()) {
			out = append(out, in.Ref.normal())
		}
	}
	return out
}

// Rendered is an install and the objects its chart renders.
type Rendered struct {
	Install
	Chart   *Chart
	Release Release
	Objects []Object
	// Subcharts are the subcharts the values leave enabled, nested ones
	// included, in the chart's order.
	Subcharts []Subchart
	// Disabled are the subcharts the chart carries that the values turn off.
	Disabled []Subchart
	// enabled is the chart with the subcharts the values enable, as Helm
	// installs it, for the checks to read its templates.
	enabled *helmchart.Chart
}

// Chart names the chart as messages do: "chart cvat 2.56.1".
func (r *Rendered) ChartName() string {
	return "chart " + r.Chart.Metadata.Name + " " + r.Chart.Metadata.Version
}

// Subchart is a subchart of a release's chart.
type Subchart struct {
	// Path is where its values live in the parent's: "nuclio", or
	// "a.b" for subchart b of subchart a. It is the alias when the
	// dependency has one.
	Path    string
	Name    string
	Version string
	// Condition is the dependency's condition in its parent's Chart.yaml
	// (values paths, the first set one decides), such as "nuclio.enabled".
	Condition string
	// Tags are the values paths of its tags ("tags.analytics").
	Tags []string
}

// Options say where charts come from and how the cluster looks to them.
type Options struct {
	Cache *Cache
	// Sums is the record charts are checked against; new digests are
	// recorded in it (the caller writes it).
	Sums *Sums
	// KubeVersion is the cluster's, as its API server reports it.
	KubeVersion string
	// Progress receives Fetch's progress ("pulling ..."); nil for none.
	Progress io.Writer
}

// RenderTree fetches the chart of every HelmRelease of the tree and
// renders each as helm-controller installs it (see Render). Releases are
// rendered in the order Flux applies their units: a chart sees, in
// .Capabilities.APIVersions, the CRDs that the charts of the units its
// unit depends on (directly or not) install, as it would at its first
// install, and their cluster-scoped kinds get no namespace.
//
// A chart that cannot be had is reported in the *MissingError Fetch
// returns; the other releases still render. The result is in the tree's
// order.
func RenderTree(ctx context.Context, t Tree, o Options) ([]*Rendered, error) {
	installs, err := Installs(t)
	if err != nil {
		return nil, err
	}
	digests, fetchErr := Fetch(ctx, o.Cache, o.Sums, Refs(installs), o.Progress)
	out := make([]*Rendered, len(installs))
	errs := make([]error, len(installs))
	done := make([]bool, len(installs))
	deps := closure(t.DependsOn)
	// In waves: each wave renders, concurrently, the installs whose
	// units' dependencies have all rendered.
	for {
		var wave []int
		for i, in := range installs {
			if done[i] {
				continue
			}
			ready := true
			for j, other := range installs {
				if !done[j] && j != i && deps[in.Unit][other.Unit] {
					ready = false
				}
			}
			if ready {
				wave = append(wave, i)
			}
		}
		if len(wave) == 0 {
			break
		}
		var wg sync.WaitGroup
		for _, i := range wave {
			apis, scoped := crdAPIs(out, installs, deps[installs[i].Unit])
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i], errs[i] = renderInstall(o, installs[i], digests, apis, scoped)
			}()
		}
		wg.Wait()
		for _, i := range wave {
			done[i] = true
		}
	}
	var rendered []*Rendered
	for i, r := range out {
		if !done[i] {
			errs[i] = fmt.Errorf("%s: its Kustomization %s depends on itself", installs[i], installs[i].Unit)
		}
		if r != nil {
			rendered = append(rendered, r)
		}
	}
	return rendered, errors.Join(append(errs, fetchErr)...)
}

// closure returns, for each unit, every unit it depends on, directly or not.
func closure(dependsOn map[string][]string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	var visit func(string) map[string]bool
	visit = func(u string) map[string]bool {
		if s, ok := out[u]; ok {
			return s
		}
		s := map[string]bool{}
		out[u] = s
		for _, d := range dependsOn[u] {
			s[d] = true
			for dd := range visit(d) {
				s[dd] = true
			}
		}
		return s
	}
	for u := range dependsOn {
		visit(u)
	}
	return out
}

// crdAPIs lists the API versions and kinds of the CRDs the rendered
// releases of the given units install, and their cluster-scoped kinds.
func crdAPIs(rendered []*Rendered, installs []Install, units map[string]bool) ([]string, []schema.GroupKind) {
	var apis []string
	var scoped []schema.GroupKind
	for i, r := range rendered {
		if r == nil || !units[installs[i].Unit] {
			continue
		}
		for _, o := range r.Objects {
			if !isCRD(o.GroupVersionKind()) {
				continue
			}
			b, err := o.MarshalJSON()
			if err != nil {
				continue
			}
			crds, err := readCRDs(b)
			if err != nil {
				continue
			}
			for _, crd := range crds {
				apis = append(apis, crd.apiVersions()...)
				if crd.Spec.Scope == "Cluster" {
					scoped = append(scoped, crd.groupKind())
				}
			}
		}
	}
	slices.Sort(apis)
	return slices.Compact(apis), scoped
}

func renderInstall(o Options, in Install, digests map[Ref]string, apis []string, scoped []schema.GroupKind) (*Rendered, error) {
	digest, ok := digests[in.Ref.normal()]
	if !ok {
		return nil, nil // reported by Fetch
	}
	ch, err := o.Cache.Load(digest)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in, err)
	}
	rel, err := ReleaseOf(in.HelmRelease)
	if err != nil {
		return nil, err
	}
	rel.KubeVersion = o.KubeVersion
	rel.APIVersions = apis
	rel.ClusterScoped = scoped
	objs, enabled, err := render(ch, rel)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in, err)
	}
	r := &Rendered{Install: in, Chart: ch, Release: rel, Objects: objs, enabled: enabled}
	// A fresh copy of the chart for its subcharts as it carries them
	// (ProcessDependencies changed the one rendered).
	hc, err := ch.helm()
	if err != nil {
		return nil, err
	}
	all := subcharts("", hc)
	on := map[string]bool{}
	for _, p := range enabledPaths("", r.enabled) {
		on[p] = true
	}
	for _, s := range all {
		if on[s.Path] {
			r.Subcharts = append(r.Subcharts, s)
		} else {
			r.Disabled = append(r.Disabled, s)
		}
	}
	return r, nil
}

// subcharts lists the subcharts a chart carries, depth first, each as
// many times as Chart.yaml's dependencies name it (an alias is a
// subchart of its own), by its values path.
func subcharts(prefix string, hc *helmchart.Chart) []Subchart {
	var out []Subchart
	for _, req := range hc.Metadata.Dependencies {
		if req == nil {
			continue
		}
		i := slices.IndexFunc(hc.Dependencies(), func(d *helmchart.Chart) bool {
			return d.Name() == req.Name && chartutil.IsCompatibleRange(req.Version, d.Metadata.Version)
		})
		if i < 0 {
			continue // Helm skips a dependency the chart does not carry
		}
		d := hc.Dependencies()[i]
		p := cmp.Or(req.Alias, req.Name)
		if prefix != "" {
			p = prefix + "." + p
		}
		cond := req.Condition
		if cond != "" && prefix != "" {
			cond = prefix + "." + strings.ReplaceAll(cond, ",", ","+prefix+".")
		}
		var tags []string
		for _, t := range req.Tags {
			tags = append(tags, strings.TrimPrefix(prefix+".tags."+t, "."))
		}
		out = append(out, Subchart{Path: p, Name: d.Metadata.Name, Version: d.Metadata.Version, Condition: cond, Tags: tags})
		out = append(out, subcharts(p, d)...)
	}
	// A chart in charts/ that Chart.yaml does not name is always installed.
	for _, d := range hc.Dependencies() {
		if !slices.ContainsFunc(hc.Metadata.Dependencies, func(req *helmchart.Dependency) bool {
			return req != nil && req.Name == d.Name() && chartutil.IsCompatibleRange(req.Version, d.Metadata.Version)
		}) {
			p := d.Name()
			if prefix != "" {
				p = prefix + "." + p
			}
			out = append(out, Subchart{Path: p, Name: d.Metadata.Name, Version: d.Metadata.Version})
			out = append(out, subcharts(p, d)...)
		}
	}
	return out
}

// enabledPaths lists the values paths of the subcharts a chart processed
// by ProcessDependencies keeps (named by their aliases there).
func enabledPaths(prefix string, hc *helmchart.Chart) []string {
	var out []string
	for _, d := range hc.Dependencies() {
		p := d.Name()
		if prefix != "" {
			p = prefix + "." + p
		}
		out = append(out, p)
		out = append(out, enabledPaths(p, d)...)
	}
	return out
}
