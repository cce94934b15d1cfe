package component

import (
	"encoding/json"
	"maps"
	"strings"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// Values are Helm values: nested maps of JSON-able values.
type Values = map[string]any

func init() {
	register(Definition[struct{}]{Name: "helm", Block: "helm", ChartPods: true, Render: HelmApp})
}

// HelmApp renders the generic "helm" component: the chart's source, a
// HelmRelease with the owner's values, and a LoadBalancer Service per
// declared LoadBalancer (a generic chart's Service values are unknown).
// The model says which pods the chart creates: its workloads' selectors.
func HelmApp(m *model.Model, app *model.App, _ struct{}) ([]Unit, error) {
	objects, err := chart(app, Values{})
	if err != nil {
		return nil, err
	}
	u := appUnit(app, append(objects, workloadLoadBalancers(app)...)...)
	return []Unit{u}, nil
}

// chartPods are the pods a chart creates, as the model's workloads and
// helpers select them.
func chartPods(app *model.App) []kube.PodLabels {
	var out []kube.PodLabels
	for _, s := range app.PodSets() {
		out = append(out, kube.PodLabels{Namespace: app.Namespace, Labels: maps.Clone(s.Workload.Selector)})
	}
	return out
}

// chart renders an app's chart source and HelmRelease. computed are the
// values the component derives from the model; the owner's values from
// the model are merged over them, so the owner has the last word.
func chart(app *model.App, computed Values) ([]kube.Object, error) {
	h := app.Helm
	values := merge(computed, h.Values)
	raw, err := json.Marshal(values)
	if err != nil {
		return nil, model.Problemf(app.Path("helm", "values"), "the Helm values do not print as JSON: %v", err)
	}
	release := &helmv2.HelmRelease{
		TypeMeta:   kube.TypeMeta(helmv2.GroupVersion, helmv2.HelmReleaseKind),
		ObjectMeta: kube.Meta(app.Name, app.Namespace),
		Spec: helmv2.HelmReleaseSpec{
			ReleaseName: app.Name,
			Interval:    metav1.Duration{Duration: time.Hour},
			Timeout:     &metav1.Duration{Duration: releaseTimeout},
			// A failed install or upgrade is retried in place, every
			// retryInterval, for as long as it fails. The default
			// (RemediateOnFailure) uninstalls between a few install
			// attempts and then stops until someone runs flux reconcile
			// --force; on a first sync, where a Secret or a StorageClass
			// arrives minutes after the chart, that stall is the normal
			// case. An upgrade that fails leaves the working release
			// running; nothing is rolled back or uninstalled under it
			// (helm-controller api v1.6.5 InstallStrategy, UpgradeStrategy).
			Install: &helmv2.Install{
				CRDs:     helmv2.CreateReplace,
				Strategy: &helmv2.InstallStrategy{Name: string(helmv2.ActionStrategyRetryOnFailure), RetryInterval: &metav1.Duration{Duration: retryInterval}},
			},
			Upgrade: &helmv2.Upgrade{
				CRDs:     helmv2.CreateReplace,
				Strategy: &helmv2.UpgradeStrategy{Name: string(helmv2.ActionStrategyRetryOnFailure), RetryInterval: &metav1.Duration{Duration: retryInterval}},
			},
		},
	}
	if len(values) > 0 {
		release.Spec.Values = &apiextensionsv1.JSON{Raw: raw}
	}
	if strings.HasPrefix(h.Chart.Repository, "oci://") {
		// Flux's recommended source for an OCI chart: an OCIRepository
		// pinned to the chart's tag, referenced by chartRef.
		source := &sourcev1.OCIRepository{
			TypeMeta:   kube.TypeMeta(sourcev1.GroupVersion, sourcev1.OCIRepositoryKind),
			ObjectMeta: kube.Meta(app.Name, app.Namespace),
			Spec: sourcev1.OCIRepositorySpec{
				URL:       strings.TrimSuffix(h.Chart.Repository, "/") + "/" + h.Chart.Name,
				Reference: &sourcev1.OCIRepositoryRef{Tag: h.Chart.Version},
				LayerSelector: &sourcev1.OCILayerSelector{
					MediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
					Operation: sourcev1.OCILayerCopy,
				},
				Interval: metav1.Duration{Duration: time.Hour},
			},
		}
		release.Spec.ChartRef = &helmv2.CrossNamespaceSourceReference{
			Kind: sourcev1.OCIRepositoryKind, Name: source.Name, Namespace: source.Namespace,
		}
		return []kube.Object{source, release}, nil
	}
	source := &sourcev1.HelmRepository{
		TypeMeta:   kube.TypeMeta(sourcev1.GroupVersion, sourcev1.HelmRepositoryKind),
		ObjectMeta: kube.Meta(app.Name, app.Namespace),
		Spec: sourcev1.HelmRepositorySpec{
			URL:      h.Chart.Repository,
			Interval: metav1.Duration{Duration: time.Hour},
		},
	}
	release.Spec.Chart = &helmv2.HelmChartTemplate{
		Spec: helmv2.HelmChartTemplateSpec{
			Chart:   h.Chart.Name,
			Version: h.Chart.Version,
			SourceRef: helmv2.CrossNamespaceObjectReference{
				Kind: sourcev1.HelmRepositoryKind, Name: source.Name, Namespace: source.Namespace,
			},
		},
	}
	return []kube.Object{source, release}, nil
}

// How long Helm waits for a release's resources to be ready before it
// calls the install or upgrade failed, and how soon it tries again.
const (
	releaseTimeout = 10 * time.Minute
	retryInterval  = 2 * time.Minute
	// slowReleaseTimeout is for charts that install slowly: images of
	// gigabytes, database migrations at the first start.
	slowReleaseTimeout = 20 * time.Minute
)

// withReleaseTimeout gives the HelmRelease among objects another timeout.
func withReleaseTimeout(objects []kube.Object, d time.Duration) []kube.Object {
	for _, o := range objects {
		if hr, ok := o.(*helmv2.HelmRelease); ok {
			hr.Spec.Timeout = &metav1.Duration{Duration: d}
		}
	}
	return objects
}

// merge returns base with over merged in: nested maps merge key by key,
// anything else in over replaces what base has.
func merge(base, over Values) Values {
	out := maps.Clone(base)
	if out == nil {
		out = Values{}
	}
	for k, v := range over {
		if vm, ok := v.(map[string]any); ok {
			if bm, ok := out[k].(map[string]any); ok {
				out[k] = merge(bm, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}
