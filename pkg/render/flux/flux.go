// Package flux writes the Flux objects of the rendered tree: a Flux
// Kustomization per unit, and the sync that points Flux at the tree.
package flux

import (
	"path"
	"strings"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	meta "github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// SyncName names the GitRepository and the root Kustomization, as
// flux bootstrap does.
const SyncName = "flux-system"

// Dir is the folder of the sync objects in the cluster's folder.
const Dir = "flux-system"

// How long Flux waits for a unit to become healthy. A unit holding a
// HelmRelease waits releaseMargin longer than the release's own timeout,
// so that Flux reports the release's failure, not its own impatience.
const (
	defaultTimeout = 5 * time.Minute
	releaseMargin  = 5 * time.Minute
	// reconcileInterval is how often Flux applies a unit again, undoing
	// drift; a new revision of the repository applies at once.
	reconcileInterval = 10 * time.Minute
)

// Root is the cluster's folder as Flux's paths name it: ./clusters/<name>.
func Root(m *model.Model) string { return "./clusters/" + m.Name }

// Kustomization is the Flux Kustomization that applies a unit's folder,
// after the units it depends on.
func Kustomization(m *model.Model, u component.Unit, dependsOn []string) *kustomizev1.Kustomization {
	timeout := defaultTimeout
	for _, o := range u.Objects {
		if hr, ok := o.(*helmv2.HelmRelease); ok && hr.Spec.Timeout != nil {
			timeout = max(timeout, hr.Spec.Timeout.Duration+releaseMargin)
		}
	}
	if u.Timeout != 0 {
		timeout = u.Timeout
	}
	ks := &kustomizev1.Kustomization{
		TypeMeta:   kube.TypeMeta(kustomizev1.GroupVersion, kustomizev1.KustomizationKind),
		ObjectMeta: kube.Meta(u.Name, model.FluxNamespace),
		Spec: kustomizev1.KustomizationSpec{
			Interval:      metav1.Duration{Duration: reconcileInterval},
			RetryInterval: &metav1.Duration{Duration: time.Minute},
			Timeout:       &metav1.Duration{Duration: timeout},
			Path:          Root(m) + "/" + path.Join(u.Layer, u.Name),
			Prune:         true,
			SourceRef:     kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: SyncName},
		},
	}
	// Health: a unit's dependents start only once what it applied is ready.
	if len(u.Health) == 0 {
		ks.Spec.Wait = true
	}
	for _, o := range u.Health {
		gvk := kube.GVK(o)
		ks.Spec.HealthChecks = append(ks.Spec.HealthChecks, meta.NamespacedObjectKindReference{
			APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: o.GetName(), Namespace: o.GetNamespace(),
		})
	}
	ks.Spec.HealthCheckExprs = u.HealthExprs
	for _, d := range dependsOn {
		ks.Spec.DependsOn = append(ks.Spec.DependsOn, kustomizev1.DependencyReference{Name: d})
	}
	if u.Decrypt {
		ks.Spec.Decryption = &kustomizev1.Decryption{Provider: "sops",
			SecretRef: &meta.LocalObjectReference{Name: m.Flux.SOPS.SecretName}}
	}
	return ks
}

// Sync is what points Flux at the tree: the GitRepository of the
// repository and the root Kustomization that applies the cluster's
// folder. ignored are folders of the cluster's folder that Flux never
// applies, left out of the artifact.
func Sync(m *model.Model, ignored ...string) []kube.Object {
	f := m.Flux
	ignore := []string{"# per-node bootstrap inputs, never applied by Flux"}
	for _, dir := range ignored {
		ignore = append(ignore, Root(m)[1:]+"/"+dir+"/")
	}
	repo := &sourcev1.GitRepository{
		TypeMeta:   kube.TypeMeta(sourcev1.GroupVersion, sourcev1.GitRepositoryKind),
		ObjectMeta: kube.Meta(SyncName, model.FluxNamespace),
		Spec: sourcev1.GitRepositorySpec{
			URL:       f.URL,
			Reference: &sourcev1.GitRepositoryRef{Branch: f.Branch},
			Interval:  metav1.Duration{Duration: f.Interval.Duration},
			Ignore:    ptrTo(strings.Join(ignore, "\n")),
		},
	}
	if f.SecretName != "" {
		repo.Spec.SecretRef = &meta.LocalObjectReference{Name: f.SecretName}
	}
	root := &kustomizev1.Kustomization{
		TypeMeta:   kube.TypeMeta(kustomizev1.GroupVersion, kustomizev1.KustomizationKind),
		ObjectMeta: kube.Meta(SyncName, model.FluxNamespace),
		Spec: kustomizev1.KustomizationSpec{
			Interval:  metav1.Duration{Duration: reconcileInterval},
			Path:      Root(m),
			Prune:     true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: SyncName},
		},
	}
	return []kube.Object{repo, root}
}

// fluxImages is the registry of Flux's own controller images.
const fluxImages = "ghcr.io/fluxcd"

// fluxComponents are the controllers the cluster runs: flux install's
// defaults (flux2 pkg/manifestgen/install/options.go, v2.9).
var fluxComponents = []string{"source-controller", "kustomize-controller", "helm-controller", "notification-controller"}

// InstanceFile is the file of the FluxInstance in Dir, which the first
// server applies once the Flux Operator runs.
const InstanceFile = "fluxinstance-flux.yaml"

// fluxOperatorValues turn off the operator's web UI. It is on by default
// and, with no web config, serves the cluster's Flux objects to anyone who
// reaches port 9080, which the chart's own NetworkPolicy opens to every
// namespace; no flow of the model asks for it. The chart maps web.enabled
// to WEB_SERVER_PORT 9080 or 0 (controlplaneio-fluxcd/charts
// flux-operator/templates/deployment.yaml, read at chart 0.49.0: the
// charts repository mirrors no later one), and the operator at v0.59.0
// starts no web server on port 0 (cmd/operator/main.go); its
// docs/web/web-standalone.md says to disable it with these values.
const fluxOperatorValues = "web:\n  enabled: false\n"

// Instance is how Flux itself comes from git, with the Flux Operator:
//
//   - a K3s HelmChart that installs the operator's chart at the pinned
//     version into flux-system, its web UI off (fluxOperatorValues). The bootstrap also puts it in the first
//     server's auto-deploy folder, so K3s installs the operator before
//     Flux exists; from then on Flux applies it from here, and K3s's Helm
//     controller upgrades the operator when its version changes;
//   - the FluxInstance that the operator reconciles: the pinned Flux
//     version, its controllers, and Flux's own NetworkPolicies. A new
//     version in versions.cue is a new FluxInstance, which the operator
//     rolls out: a Flux upgrade is one commit.
//
// The sync (Sync) stays ours, not the FluxInstance's: its GitRepository
// and root Kustomization are rendered, verified and applied like the rest.
func Instance(m *model.Model) []kube.Object {
	op := m.Versions.FluxOperator
	chart := &kube.HelmChart{
		TypeMeta:   kube.TypeMeta(kube.K3sHelmGroupVersion, "HelmChart"),
		ObjectMeta: kube.Meta(op.Name, model.KubeSystem),
		Spec: kube.HelmChartSpec{
			Chart:           strings.TrimSuffix(op.Repository, "/") + "/" + op.Name,
			Version:         op.Version,
			TargetNamespace: model.FluxNamespace,
			CreateNamespace: true,
			ValuesContent:   fluxOperatorValues,
		},
	}
	instance := &kube.FluxInstance{
		TypeMeta: kube.TypeMeta(kube.FluxOperatorGroupVersion, "FluxInstance"),
		// The operator reconciles the instance named flux in its own namespace.
		ObjectMeta: kube.Meta("flux", model.FluxNamespace),
		Spec: kube.FluxInstanceSpec{
			Distribution: kube.FluxDistribution{Version: strings.TrimPrefix(m.Versions.Flux, "v"), Registry: fluxImages},
			Components:   fluxComponents,
			Cluster:      &kube.FluxCluster{Type: "kubernetes", Domain: m.Domain, NetworkPolicy: true},
		},
	}
	return []kube.Object{chart, instance}
}

func ptrTo[T any](v T) *T { return &v }
