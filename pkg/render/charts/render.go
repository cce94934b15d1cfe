package charts

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"maps"
	"slices"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	helmrelease "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Release is what helm-controller installs a chart with: the inputs of one
// HelmRelease. ReleaseOf fills it from a HelmRelease object exactly as
// helm-controller reads one; tests and tools may fill it by hand.
type Release struct {
	// Name is the Helm release name: spec.releaseName, or when empty the
	// default helm-controller computes ("[<targetNamespace>-]<name>",
	// shortened past 53 characters); ReleaseOf computes it.
	Name string
	// Namespace is the release namespace: spec.targetNamespace, or the
	// HelmRelease's own namespace. Namespaced objects whose template leaves
	// metadata.namespace empty land there, as Helm's kube client puts them.
	Namespace string
	// Values are the HelmRelease's values: spec.values merged over
	// spec.valuesFrom, in helm-controller's order (the references in
	// order, then spec.values last). The chart's own defaults are merged
	// under them by Helm, subcharts' included.
	Values map[string]any
	// KubeVersion is the cluster's version as its API server reports it,
	// e.g. "v1.34.2+k3s1": .Capabilities.KubeVersion and the chart's
	// kubeVersion constraint see it. Required: Helm's offline default
	// (v1.20) would quietly render for another cluster.
	KubeVersion string
	// APIVersions are API versions the cluster serves besides Kubernetes'
	// own (those of Helm's client-go, as group versions and kinds) and the
	// CRDs the release applies itself: the CRDs other units install, in
	// both forms discovery gives, "monitoring.coreos.com/v1" and
	// "monitoring.coreos.com/v1/ServiceMonitor". Templates see them through
	// .Capabilities.APIVersions.Has.
	APIVersions []string
	// IncludeCRDs renders the charts' crds/ folders, enabled subcharts'
	// included: helm-controller applies them before installing when
	// spec.install.crds is Create (the default) or CreateReplace, and
	// not when it is Skip (internal/action/crds.go).
	IncludeCRDs bool
	// DisableHooks leaves hooks out (spec.install.disableHooks): the
	// controller never creates them then.
	DisableHooks bool
	// DisableSchemaValidation skips the check of the values against the
	// chart's values.schema.json (spec.install.disableSchemaValidation).
	DisableSchemaValidation bool
	// HelmRelease names the HelmRelease object. When set, every object gets
	// the labels helm.toolkit.fluxcd.io/name and helm.toolkit.fluxcd.io/namespace
	// that helm-controller's post-renderer adds (internal/postrender/build.go,
	// NewOriginLabels; CRDs get them too: internal/action/crds.go,
	// setOriginVisitor).
	HelmRelease types.NamespacedName
	// CommonMetadata is spec.commonMetadata: labels and annotations
	// helm-controller adds to every object the chart renders (not to the
	// CRDs of crds/); the origin labels win a clash.
	CommonMetadata *helmv2.CommonMetadata
	// PostRenderStrategy is spec.postRenderStrategy: which objects the
	// post-renderer (commonMetadata, origin labels) sees. Empty is
	// helm-controller's default, "combined": hooks too; "nohooks" leaves
	// hooks as the chart renders them; "separate" post-renders hooks and
	// the other objects apart (internal/action/post_render.go).
	PostRenderStrategy helmv2.PostRenderStrategy
	// ClusterScoped names the kinds, beyond Kubernetes' own and the CRDs
	// the chart itself carries, that are cluster-scoped and so get no
	// namespace: cluster-scoped custom resources of CRDs other units
	// install. Any other kind is taken as namespaced.
	ClusterScoped []schema.GroupKind
}

// ReleaseOf returns the Release helm-controller v1.6 would install for a
// HelmRelease object; the caller adds KubeVersion, APIVersions and
// ClusterScoped, which come from the cluster. What the renderer cannot
// know offline is refused rather than guessed: spec.valuesFrom (read from
// the cluster's ConfigMaps and Secrets at reconcile time) and
// spec.postRenderers (Kustomize patches, not implemented here).
func ReleaseOf(hr *helmv2.HelmRelease) (Release, error) {
	if len(hr.Spec.ValuesFrom) > 0 {
		return Release{}, fmt.Errorf("HelmRelease %s/%s: spec.valuesFrom is read from the cluster when helm-controller reconciles; merge those values into Release.Values", hr.Namespace, hr.Name)
	}
	if len(hr.Spec.PostRenderers) > 0 {
		return Release{}, fmt.Errorf("HelmRelease %s/%s: spec.postRenderers are not supported by the offline renderer", hr.Namespace, hr.Name)
	}
	install := hr.GetInstall()
	r := Release{
		// The api module's own methods: the same code helm-controller runs
		// (api/v2/helmrelease_types.go, GetReleaseName, GetReleaseNamespace,
		// GetValues), and the shortening of internal/action/install.go.
		Name:                    shortenReleaseName(hr.GetReleaseName()),
		Namespace:               hr.GetReleaseNamespace(),
		Values:                  hr.GetValues(),
		IncludeCRDs:             install.CRDs != helmv2.Skip,
		DisableHooks:            install.DisableHooks,
		DisableSchemaValidation: install.DisableSchemaValidation,
		HelmRelease:             types.NamespacedName{Namespace: hr.Namespace, Name: hr.Name},
		CommonMetadata:          hr.Spec.CommonMetadata,
		PostRenderStrategy:      hr.GetPostRenderStrategy(),
	}
	switch install.CRDs {
	case "", helmv2.Create, helmv2.CreateReplace, helmv2.Skip:
	default:
		return Release{}, fmt.Errorf("HelmRelease %s/%s: spec.install.crds %q is none of Skip, Create, CreateReplace", hr.Namespace, hr.Name, install.CRDs)
	}
	return r, nil
}

// shortenReleaseName keeps a release name within Helm's 53 characters the
// way helm-controller does (internal/release/name.go, ShortenName): a name
// longer than that becomes its first 40 characters, a dash and the first
// 12 hex digits of its SHA-256.
func shortenReleaseName(name string) string {
	const limit, hashLen = 53, 12
	if len(name) <= limit {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:limit-hashLen-1] + "-" + hex.EncodeToString(sum[:])[:hashLen]
}

// Object is one object of a rendered release, as helm-controller applies it.
type Object struct {
	*unstructured.Unstructured
	// Template is the chart file it was rendered from, as Helm names it:
	// "<chart>/templates/deployment.yaml",
	// "<chart>/charts/<subchart>/templates/...", or "<chart>/crds/..." for
	// a CRD of a crds/ folder.
	Template string
	// Hook is set when the object is a Helm hook: helm-controller creates
	// it at the hook's events, around the release's other objects, and
	// (by its delete policy) may delete it again.
	Hook *Hook
}

// Hook says when Helm runs a hook object (its helm.sh/hook annotations).
type Hook struct {
	// Events are the hook's events: "pre-install", "post-upgrade", ...
	// Test hooks ("test") are never rendered: helm-controller runs them
	// only when spec.test.enable asks, and they are no part of the release.
	Events []string
	// Weight orders hooks of the same event.
	Weight int
	// DeletePolicies are the hook's delete policies: "before-hook-creation", ...
	DeletePolicies []string
}

// Render renders a chart as helm-controller v1.6 installs it for a
// HelmRelease, and returns every object it would apply, sorted by kind,
// namespace and name (then template), so output is deterministic.
//
// It runs Helm's own install action (helm.sh/helm/v4/pkg/action.Install)
// in client-only dry-run mode, the mode of `helm template`, configured as
// helm-controller configures it (internal/action/install.go, newInstall).
// The install action rather than the template engine alone, because it is
// what helm-controller runs: it resolves subchart conditions and tags and
// imports values (ProcessDependencies), validates values against the
// chart's schema, enforces the chart's kubeVersion constraint with Helm's
// own message, renders, runs helm-controller's post-renderer, and splits
// hooks from the other objects with Helm's own sorter. In client-only mode
// Helm builds .Capabilities from KubeVersion and APIVersions and its
// built-in API list, and lookup finds nothing: no template reads a
// cluster, and nothing here opens a connection.
//
// Objects are then completed as they land in the cluster: a namespaced
// object without a namespace gets the release namespace; the objects of
// the release (not hooks, not CRDs) carry Helm's ownership metadata
// (app.kubernetes.io/managed-by: Helm, meta.helm.sh/release-name and
// -namespace), which Helm's install sets on them before it applies them;
// CRDs carry the origin labels, as helm-controller's CRD step sets them.
// Non-CRD documents in a crds/ folder are dropped, as helm-controller
// drops them (internal/action/crds.go).
func Render(ch *Chart, r Release) ([]Object, error) {
	objs, _, err := render(ch, r)
	return objs, err
}

// render is Render, and returns too the chart as Helm installed it: with
// the subcharts the values enable (ProcessDependencies removed the others).
func render(ch *Chart, r Release) ([]Object, *helmchart.Chart, error) {
	objs, hc, err := renderRelease(ch, r)
	if err != nil {
		return nil, nil, fmt.Errorf("chart %s %s: %w", ch.Metadata.Name, ch.Metadata.Version, err)
	}
	return objs, hc, nil
}

func renderRelease(ch *Chart, r Release) ([]Object, *helmchart.Chart, error) {
	if r.Name == "" || r.Namespace == "" {
		return nil, nil, errors.New("the release needs a name and a namespace (ReleaseOf computes them as helm-controller does)")
	}
	if r.KubeVersion == "" {
		return nil, nil, errors.New("the release needs the cluster's KubeVersion")
	}
	kubeVersion, err := common.ParseKubeVersion(r.KubeVersion)
	if err != nil {
		return nil, nil, fmt.Errorf("KubeVersion %q: %w", r.KubeVersion, err)
	}
	values, err := asHelmControllerValues(r.Values)
	if err != nil {
		return nil, nil, err
	}
	hc, err := ch.helm()
	if err != nil {
		return nil, nil, err
	}

	// helm-controller applies the CRDs of the enabled charts first,
	// resolving subchart conditions for that on the very chart and values
	// the install then gets (internal/action/crds.go, applyCRDs, which
	// returns early for a chart without CRDs or the Skip policy).
	if r.IncludeCRDs && len(hc.CRDObjects()) > 0 {
		if err := chartutil.ProcessDependencies(hc, values); err != nil {
			return nil, nil, fmt.Errorf("failed to process chart dependencies: %w", err)
		}
	}
	apis, err := apiVersions(r, hc)
	if err != nil {
		return nil, nil, err
	}

	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler))
	install := action.NewInstall(cfg)
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = r.Name
	install.Namespace = r.Namespace
	install.KubeVersion = kubeVersion
	install.APIVersions = apis
	install.IncludeCRDs = r.IncludeCRDs
	install.DisableHooks = r.DisableHooks
	install.SkipSchemaValidation = r.DisableSchemaValidation
	// helm-controller installs development versions too and applies CRDs
	// itself (internal/action/install.go, newInstall); DNS lookups stay
	// off, as without its AllowDNSLookups feature gate.
	install.Devel = true
	install.SkipCRDs = true
	install.EnableDNS = false
	// Helm 4's default, hooks through the post-renderer with the rest, is
	// helm-controller's too (internal/action/post_render.go); the
	// HelmRelease may choose another.
	install.PostRenderStrategy = action.PostRenderStrategyCombined
	if r.PostRenderStrategy != "" {
		install.PostRenderStrategy = action.PostRenderStrategy(r.PostRenderStrategy)
	}
	install.PostRenderer = newMetadataPostRenderer(r)

	res, err := install.RunWithContext(context.Background(), hc, values)
	if err != nil {
		return nil, nil, err
	}
	rel, ok := res.(*helmrelease.Release)
	if !ok {
		return nil, nil, fmt.Errorf("helm returned a %T, not a chart API v2 release", res)
	}

	// After the install, hc holds only the enabled subcharts: their CRDs
	// are the ones rendered, and every CRD it carries says its kinds' scope.
	crdFiles := map[string]bool{}
	scopes := newScopes(r.ClusterScoped)
	for _, crd := range hc.CRDObjects() {
		crdFiles[crd.Filename] = true
		if err := scopes.addCRDs(crd.File.Data); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", crd.Filename, err)
		}
	}

	var objs []Object
	docs, err := splitManifest(rel.Manifest)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range docs {
		if d.obj.GetKind() == "CustomResourceDefinition" {
			if err := scopes.addCRDs([]byte(d.text)); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", d.template, err)
			}
		}
		objs = append(objs, Object{Unstructured: d.obj, Template: d.template})
	}
	for _, h := range rel.Hooks {
		if r.DisableHooks || onlyTest(h.Events) {
			continue
		}
		u, err := decode(h.Manifest)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", h.Path, err)
		}
		if u == nil {
			continue
		}
		hook := &Hook{Weight: h.Weight}
		for _, e := range h.Events {
			hook.Events = append(hook.Events, string(e))
		}
		for _, p := range h.DeletePolicies {
			hook.DeletePolicies = append(hook.DeletePolicies, string(p))
		}
		objs = append(objs, Object{Unstructured: u, Template: h.Path, Hook: hook})
	}

	kept := objs[:0]
	for _, o := range objs {
		fromCRDs := crdFiles[o.Template] && o.Hook == nil
		gvk := o.GroupVersionKind()
		if fromCRDs && !isCRD(gvk) {
			continue
		}
		if o.GetNamespace() == "" && scopes.namespaced(gvk.GroupKind()) {
			o.SetNamespace(r.Namespace)
		}
		switch {
		case fromCRDs:
			if r.HelmRelease.Name != "" {
				o.SetLabels(merged(o.GetLabels(), originLabels(r.HelmRelease)))
			}
		case o.Hook == nil:
			o.SetLabels(merged(o.GetLabels(), map[string]string{"app.kubernetes.io/managed-by": "Helm"}))
			o.SetAnnotations(merged(o.GetAnnotations(), map[string]string{
				"meta.helm.sh/release-name":      r.Name,
				"meta.helm.sh/release-namespace": r.Namespace,
			}))
		}
		kept = append(kept, o)
	}
	objs = kept

	// The release's objects before hooks of the same kind and name.
	hook := func(o Object) int {
		if o.Hook != nil {
			return 1
		}
		return 0
	}
	slices.SortStableFunc(objs, func(a, b Object) int {
		return cmp.Or(
			strings.Compare(a.GetKind(), b.GetKind()),
			strings.Compare(a.GetNamespace(), b.GetNamespace()),
			strings.Compare(a.GetName(), b.GetName()),
			cmp.Compare(hook(a), hook(b)),
			strings.Compare(a.GetAPIVersion(), b.GetAPIVersion()),
			strings.Compare(a.Template, b.Template),
		)
	})
	return objs, hc, nil
}

// asHelmControllerValues gives the values the shape helm-controller gives
// them: it decodes spec.values, JSON, with sigs.k8s.io/yaml
// (api/v2/helmrelease_types.go, GetValues), so every number is a float64
// and a template prints a large one as Helm users know (1e+06). The round
// trip also copies the caller's map, which Helm would otherwise modify.
func asHelmControllerValues(v map[string]any) (map[string]any, error) {
	out := map[string]any{}
	if len(v) == 0 {
		return out, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	if err := yaml.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	return out, nil
}

func onlyTest(events []helmrelease.HookEvent) bool {
	for _, e := range events {
		if e != helmrelease.HookTest {
			return false
		}
	}
	return len(events) > 0
}

type doc struct {
	template string
	text     string
	obj      *unstructured.Unstructured
}

// splitManifest splits a release manifest, the documents Helm prints each
// after a "# Source: <template>" line (a crds/ file may hold several
// documents under one such line), into objects.
func splitManifest(manifest string) ([]doc, error) {
	var out []doc
	source := ""
	for chunk, err := range yamlDocs([]byte(manifest)) {
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(chunk))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if s, ok := strings.CutPrefix(line, "# Source: "); ok {
				source = s
				break
			}
			// (The reader keeps a leading "---" in the first chunk.)
			if line != "" && line != "---" && !strings.HasPrefix(line, "#") {
				break
			}
		}
		u, err := decode(string(chunk))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if u != nil {
			out = append(out, doc{template: source, text: string(chunk), obj: u})
		}
	}
	return out, nil
}

// yamlDocs yields the documents of a YAML stream; after an error, nothing.
func yamlDocs(stream []byte) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		rd := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
		for {
			doc, err := rd.Read()
			if errors.Is(err, io.EOF) || !yield(doc, err) || err != nil {
				return
			}
		}
	}
}

// decode parses one YAML document into an object; an empty document is
// nil. Through JSON and apimachinery's decoder, so that numbers are int64
// or float64 as in any object client-go reads.
func decode(text string) (*unstructured.Unstructured, error) {
	j, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		return nil, err
	}
	if t := strings.TrimSpace(string(j)); t == "null" || t == "{}" || t == "" {
		return nil, nil
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		return nil, fmt.Errorf("%w: %.80q", err, strings.TrimSpace(text))
	}
	if u.GetAPIVersion() == "" {
		return nil, fmt.Errorf("a document without apiVersion: %.80q", strings.TrimSpace(text))
	}
	return u, nil
}

func originLabels(hr types.NamespacedName) map[string]string {
	return map[string]string{
		helmv2.GroupVersion.Group + "/name":      hr.Name,
		helmv2.GroupVersion.Group + "/namespace": hr.Namespace,
	}
}

// merged adds add's entries to m, a new map when m is nil, and returns it.
func merged(m, add map[string]string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	maps.Copy(m, add)
	return m
}
