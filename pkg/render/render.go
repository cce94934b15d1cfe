package render

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	meta "github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/host"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/review"
	"github.com/polylab/polylab-gitops/pkg/render/tree"
	"github.com/polylab/polylab-gitops/pkg/render/verify"
)

// FluxNamespace is where Flux runs and its Kustomizations live.
const FluxNamespace = "flux-system"

// syncName names the GitRepository and root Kustomization, as flux bootstrap does.
const syncName = "flux-system"

// layers are applied in this order; each is a folder and a file of Flux
// Kustomizations under the cluster's folder.
var layers = []string{model.LayerInfrastructure, model.LayerApps}

// Render renders the cluster's whole folder in memory and verifies it:
// every Kustomize folder builds, every object decodes strictly, every
// reference resolves. Paths in the tree are relative to clusters/<name>.
func Render(c *model.Cluster) (*tree.Tree, error) {
	t, err := applied(c)
	if err != nil {
		return nil, err
	}
	// What Flux never applies (the README, the bootstrap's per-node
	// inputs) is rendered while the applied part is verified.
	type sideFiles struct {
		files map[string][]byte
		err   error
	}
	side := make(chan sideFiles, 1)
	go func() {
		files, err := host.Files(c)
		side <- sideFiles{files, err}
	}()
	_, verifyErr := verify.Tree(t, c.Name, chartPods(c))
	hosts := <-side
	if err := errors.Join(verifyErr, hosts.err); err != nil {
		return nil, err
	}
	for _, name := range host.Paths(hosts.files) {
		if err := t.Add(path.Join(host.Dir, name), hosts.files[name]); err != nil {
			return nil, err
		}
	}
	// The README is for people: the root kustomization.yaml does not list it.
	if err := t.Add("README.md", review.README(c)); err != nil {
		return nil, err
	}
	return t, nil
}

// applied renders the part of the tree Flux applies, unverified: every
// unit's folder, the Flux Kustomizations, and the sync objects.
func applied(c *model.Cluster) (*tree.Tree, error) {
	units, err := component.Render(c)
	if err != nil {
		return nil, err
	}
	deps, err := dependsOn(units)
	if err != nil {
		return nil, err
	}
	r := &renderer{c: c, t: tree.New(), root: "./clusters/" + c.Name}
	docs, err := marshalUnits(units)
	if err != nil {
		return nil, err
	}
	for i, u := range units {
		if err := r.unitFolder(u, docs[i]); err != nil {
			return nil, err
		}
	}
	if err := r.fluxKustomizations(units, deps); err != nil {
		return nil, err
	}
	if err := r.sync(); err != nil {
		return nil, err
	}
	return r.t, nil
}

type renderer struct {
	c    *model.Cluster
	t    *tree.Tree
	root string // the cluster folder as Flux paths name it
}

func (r *renderer) add(name string, content []byte) error { return r.t.Add(name, content) }

func (r *renderer) addObjects(name string, objects ...kube.Object) error {
	var docs [][]byte
	for _, o := range objects {
		b, err := kube.Marshal(o)
		if err != nil {
			return err
		}
		docs = append(docs, b)
	}
	return r.add(name, bytes.Join(docs, []byte("---\n")))
}

func (r *renderer) addKustomization(dir string, resources []string) error {
	k := kustypes.Kustomization{
		TypeMeta:  kustypes.TypeMeta{APIVersion: kustypes.KustomizationVersion, Kind: kustypes.KustomizationKind},
		Resources: resources,
	}
	b, err := yaml.Marshal(k)
	if err != nil {
		return err
	}
	return r.add(path.Join(dir, "kustomization.yaml"), b)
}

// unitFolder writes a unit's objects (docs, as marshalUnits printed
// them), one file each, and the folder's kustomization.yaml listing them.
func (r *renderer) unitFolder(u component.Unit, docs [][]byte) error {
	dir := path.Join(u.Layer, u.Name)
	if u.Name == "secrets" {
		return r.add(path.Join(dir, "README.md"), review.SecretsREADME(r.c))
	}
	var files []string
	for i, o := range u.Objects {
		name := kube.FileName(o)
		if err := r.add(path.Join(dir, name), docs[i]); err != nil {
			return fmt.Errorf("unit %s: %w", u.Name, err)
		}
		files = append(files, name)
	}
	slices.Sort(files)
	return r.addKustomization(dir, files)
}

// marshalUnits prints every unit's objects as YAML, on all cores: at the
// scale of hundreds of apps, printing is a good part of a render.
func marshalUnits(units []component.Unit) ([][][]byte, error) {
	type job struct{ unit, object int }
	var jobs []job
	docs := make([][][]byte, len(units))
	for i, u := range units {
		docs[i] = make([][]byte, len(u.Objects))
		for j := range u.Objects {
			jobs = append(jobs, job{i, j})
		}
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for k := range next {
				j := jobs[k]
				docs[j.unit][j.object], errs[k] = kube.Marshal(units[j.unit].Objects[j.object])
			}
		})
	}
	for k := range jobs {
		next <- k
	}
	close(next)
	wg.Wait()
	return docs, errors.Join(errs...)
}

// fluxKustomizations writes one file per layer with the Flux Kustomization
// of each of its units.
func (r *renderer) fluxKustomizations(units []component.Unit, deps map[string][]string) error {
	for _, layer := range layers {
		var objects []kube.Object
		for _, u := range units {
			if u.Layer == layer {
				objects = append(objects, r.fluxKustomization(u, deps[u.Name]))
			}
		}
		if len(objects) == 0 {
			continue
		}
		if err := r.addObjects(layer+".yaml", objects...); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) fluxKustomization(u component.Unit, deps []string) *kustomizev1.Kustomization {
	// Flux waits this long for the unit to become healthy; a HelmRelease
	// gets its own 10m to install, so its unit waits longer than that.
	timeout := 5 * time.Minute
	if slices.ContainsFunc(u.Objects, func(o kube.Object) bool { return kube.GVK(o).Kind == helmv2.HelmReleaseKind }) {
		timeout = 15 * time.Minute
	}
	if u.Timeout != "" {
		timeout, _ = time.ParseDuration(u.Timeout)
	}
	ks := &kustomizev1.Kustomization{
		TypeMeta:   kube.TypeMeta(kustomizev1.GroupVersion, kustomizev1.KustomizationKind),
		ObjectMeta: kube.Meta(u.Name, FluxNamespace),
		Spec: kustomizev1.KustomizationSpec{
			Interval:      metav1.Duration{Duration: 10 * time.Minute},
			RetryInterval: &metav1.Duration{Duration: time.Minute},
			Timeout:       &metav1.Duration{Duration: timeout},
			Path:          r.root + "/" + path.Join(u.Layer, u.Name),
			Prune:         true,
			SourceRef:     kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: syncName},
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
	for _, d := range deps {
		ks.Spec.DependsOn = append(ks.Spec.DependsOn, kustomizev1.DependencyReference{Name: d})
	}
	if u.Decrypt {
		ks.Spec.Decryption = &kustomizev1.Decryption{Provider: "sops",
			SecretRef: &meta.LocalObjectReference{Name: r.c.Flux.SOPS.SecretName}}
	}
	return ks
}

// sync writes the Flux sync objects and the cluster folder's root
// kustomization.yaml, which lists exactly what Flux applies.
func (r *renderer) sync() error {
	f := r.c.Flux
	interval, _ := time.ParseDuration(f.Interval)
	repo := &sourcev1.GitRepository{
		TypeMeta:   kube.TypeMeta(sourcev1.GroupVersion, sourcev1.GitRepositoryKind),
		ObjectMeta: kube.Meta(syncName, FluxNamespace),
		Spec: sourcev1.GitRepositorySpec{
			URL:       f.URL,
			Reference: &sourcev1.GitRepositoryRef{Branch: f.Branch},
			Interval:  metav1.Duration{Duration: interval},
			// The hosts folder holds per-node inputs of the bootstrap, which
			// Flux must never apply; leave them out of the artifact too.
			Ignore: ptrTo(strings.Join([]string{"# per-node bootstrap inputs, never applied by Flux", r.root[1:] + "/" + host.Dir + "/"}, "\n")),
		},
	}
	if f.SecretName != "" {
		repo.Spec.SecretRef = &meta.LocalObjectReference{Name: f.SecretName}
	}
	root := &kustomizev1.Kustomization{
		TypeMeta:   kube.TypeMeta(kustomizev1.GroupVersion, kustomizev1.KustomizationKind),
		ObjectMeta: kube.Meta(syncName, FluxNamespace),
		Spec: kustomizev1.KustomizationSpec{
			Interval:  metav1.Duration{Duration: 10 * time.Minute},
			Path:      r.root,
			Prune:     true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: syncName},
		},
	}
	if err := r.addObjects("flux-system/gotk-sync.yaml", repo, root); err != nil {
		return err
	}
	if err := r.addKustomization("flux-system", []string{"gotk-sync.yaml"}); err != nil {
		return err
	}
	resources := []string{"flux-system"}
	for _, layer := range layers {
		if _, ok := r.t.File(layer + ".yaml"); ok {
			resources = append(resources, layer+".yaml")
		}
	}
	return r.addKustomization(".", resources)
}

func ptrTo[T any](v T) *T { return &v }

// chartPods are the label sets of the model's workloads: the pods charts
// create, which the tree itself does not show.
func chartPods(c *model.Cluster) []map[string]string {
	var pods []map[string]string
	for _, app := range c.SortedApps() {
		for _, w := range app.Workloads {
			pods = append(pods, w.Selector)
		}
	}
	return pods
}

// Build loads a cluster from a CUE module and renders its verified tree.
func Build(src Source, cluster string) (*model.Cluster, *tree.Tree, error) {
	// CUE evaluates on one core: meanwhile, another fills the tables
	// that verification would otherwise build on its critical path.
	go verify.Warm()
	c, err := Load(src, cluster)
	if err != nil {
		return nil, nil, err
	}
	t, err := Render(c)
	if err != nil {
		return nil, nil, err
	}
	return c, t, nil
}
