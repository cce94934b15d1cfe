package render

import (
	"bytes"
	"errors"
	"maps"
	"path"
	"slices"

	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/docs"
	"github.com/polylab/polylab-gitops/pkg/render/flux"
	"github.com/polylab/polylab-gitops/pkg/render/host"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/policy"
	"github.com/polylab/polylab-gitops/pkg/render/tree"
	"github.com/polylab/polylab-gitops/pkg/render/verify"
)

// layers are applied in this order; each is a folder and a file of Flux
// Kustomizations under the cluster's folder.
var layers = []string{model.LayerInfrastructure, model.LayerApps}

// Result is a rendered cluster.
type Result struct {
	// Model is the cluster the tree was rendered from.
	Model *model.Model
	// Units are what the components and the network policies rendered,
	// one Kustomize folder and Flux Kustomization each.
	Units []component.Unit
	// Tree is the cluster's folder, verified: paths relative to clusters/<name>.
	Tree *tree.Tree
	// Built is what verification decoded: every object as Flux applies it.
	Built *verify.Built
}

// Build loads a cluster from a CUE module and renders its verified tree.
func Build(src Source, cluster string) (*Result, error) {
	m, err := Load(src, cluster)
	if err != nil {
		return nil, err
	}
	return RenderModel(m)
}

// Render checks a cluster built in Go as Load checks one read from CUE,
// and renders its verified tree; paths in the tree are relative to
// clusters/<name>.
func Render(c *model.Cluster) (*tree.Tree, error) {
	m, err := model.Validate(c)
	if err != nil {
		return nil, err
	}
	r, err := RenderModel(m)
	if err != nil {
		return nil, err
	}
	return r.Tree, nil
}

// RenderModel renders the cluster's whole folder in memory and verifies
// it: every Kustomize folder builds, every object decodes strictly, every
// reference resolves. A problem at any stage names the model value that
// causes it, with its position when the model knows where it is written.
func RenderModel(m *model.Model) (*Result, error) {
	r, err := renderModel(m)
	if err != nil {
		return nil, located(err, m.Source)
	}
	return r, nil
}

func renderModel(m *model.Model) (*Result, error) {
	units, err := renderUnits(m)
	if err != nil {
		return nil, err
	}
	deps, err := dependsOn(units)
	if err != nil {
		return nil, err
	}
	t := tree.New()
	if err := writeUnits(t, m, units, deps); err != nil {
		return nil, err
	}
	built, err := verify.Tree(t, m.Name, runtimePods(units))
	if err != nil {
		return nil, err
	}
	// What Flux never applies: the bootstrap's per-node inputs, and the
	// README, for people (the root kustomization.yaml lists neither).
	hosts, err := host.Files(m)
	if err != nil {
		return nil, err
	}
	for _, name := range host.Paths(hosts) {
		if err := t.Add(path.Join(host.Dir, name), hosts[name]); err != nil {
			return nil, err
		}
	}
	if err := t.Add("README.md", docs.README(m)); err != nil {
		return nil, err
	}
	return &Result{Model: m, Units: units, Tree: t, Built: built}, nil
}

// renderUnits renders every app and every namespace's network policies,
// reporting the problems of all of them, and checks the units' names.
func renderUnits(m *model.Model) ([]component.Unit, error) {
	var problems model.Problems
	units, err := component.Render(m)
	problems.Add(nil, err)
	policies, err := policy.NetworkPolicies(m)
	problems.Add(nil, err)
	if len(problems) > 0 {
		return nil, problems
	}
	// The cluster-wide units first, then the policies, then the apps'.
	units = slices.Insert(units, 2, policies...)
	if err := component.CheckNames(units); err != nil {
		return nil, err
	}
	return units, nil
}

// runtimePods are the pods that what the units apply creates at run time.
func runtimePods(units []component.Unit) []kube.PodLabels {
	var out []kube.PodLabels
	for _, u := range units {
		out = append(out, u.Pods...)
	}
	return out
}

// writeUnits writes the part of the tree Flux applies: every unit's
// folder, a file of Flux Kustomizations per layer, the sync objects, and
// the root kustomization.yaml, which lists exactly what Flux applies.
func writeUnits(t *tree.Tree, m *model.Model, units []component.Unit, deps map[string][]edge) error {
	var errs []error
	for _, u := range units {
		errs = append(errs, unitFolder(t, u))
	}
	resources := []string{flux.Dir}
	for _, layer := range layers {
		var objects []kube.Object
		for _, u := range units {
			if u.Layer == layer {
				objects = append(objects, flux.Kustomization(m, u, names(deps[u.Name])))
			}
		}
		if len(objects) > 0 {
			errs = append(errs, addObjects(t, layer+".yaml", objects...))
			resources = append(resources, layer+".yaml")
		}
	}
	fluxFiles := []string{"gotk-sync.yaml"}
	errs = append(errs, addObjects(t, path.Join(flux.Dir, "gotk-sync.yaml"), flux.Sync(m, host.Dir)...))
	for _, o := range flux.Instance(m) {
		fluxFiles = append(fluxFiles, kube.FileName(o))
		errs = append(errs, addObjects(t, path.Join(flux.Dir, kube.FileName(o)), o))
	}
	slices.Sort(fluxFiles)
	errs = append(errs,
		addKustomization(t, flux.Dir, fluxFiles),
		addKustomization(t, ".", resources))
	return errors.Join(errs...)
}

// unitFolder writes a unit's objects, one file each, its extra files, and
// the folder's kustomization.yaml listing the objects, unless the folder
// is the owner's.
func unitFolder(t *tree.Tree, u component.Unit) error {
	dir := path.Join(u.Layer, u.Name)
	for _, name := range slices.Sorted(maps.Keys(u.Files)) {
		if err := t.Add(path.Join(dir, name), u.Files[name]); err != nil {
			return err
		}
	}
	if u.OwnerFiles {
		return nil
	}
	var files []string
	for _, o := range u.Objects {
		name := kube.FileName(o)
		if err := addObjects(t, path.Join(dir, name), o); err != nil {
			return model.Problemf(u.Origin, "unit %s: %v", u.Name, err)
		}
		files = append(files, name)
	}
	slices.Sort(files)
	return addKustomization(t, dir, files)
}

func addObjects(t *tree.Tree, name string, objects ...kube.Object) error {
	var docs [][]byte
	for _, o := range objects {
		b, err := kube.Marshal(o)
		if err != nil {
			return err
		}
		docs = append(docs, b)
	}
	return t.Add(name, bytes.Join(docs, []byte("---\n")))
}

func addKustomization(t *tree.Tree, dir string, resources []string) error {
	k := kustypes.Kustomization{
		TypeMeta:  kustypes.TypeMeta{APIVersion: kustypes.KustomizationVersion, Kind: kustypes.KustomizationKind},
		Resources: resources,
	}
	b, err := yaml.Marshal(k)
	if err != nil {
		return err
	}
	return t.Add(path.Join(dir, "kustomization.yaml"), b)
}

func names(edges []edge) []string {
	var out []string
	for _, e := range edges {
		out = append(out, e.to)
	}
	return out
}
