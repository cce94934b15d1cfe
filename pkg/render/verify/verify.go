// Package verify checks a rendered tree before anything is written: every
// folder a Flux Kustomization points at builds with kustomize as
// kustomize-controller builds it, every object decodes strictly into its
// Go type, and every reference between objects resolves.
package verify

import (
	"errors"
	"fmt"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/polylab/polylab-gitops/pkg/render/flux"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/tree"
)

// Object is one object as a Flux Kustomization applies it.
type Object struct {
	// Unit is the Flux Kustomization that applies it.
	Unit string
	// Kind, Namespace and Name identify it.
	APIVersion, Kind, Namespace, Name string
	// Typed is the object decoded into its Go type.
	Typed any
}

// Ref names the object as messages do.
func (o Object) Ref() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// Built is a verified tree: its Flux Kustomizations and what each applies.
type Built struct {
	Kustomizations []*kustomizev1.Kustomization
	Objects        []Object
}

// Tree verifies a cluster's rendered tree, whose paths are relative to
// clusters/<cluster>. Pods lists the pods that charts and controllers
// create at run time (which the tree does not show), so Service selectors
// can be checked.
func Tree(t *tree.Tree, cluster string, pods []kube.PodLabels) (*Built, error) {
	fsys := filesys.MakeFsInMemory()
	root := "/clusters/" + cluster
	for _, p := range t.Paths() {
		b, _ := t.File(p)
		if err := fsys.WriteFile(path.Join(root, p), b); err != nil {
			return nil, err
		}
	}
	built := &Built{}
	var errs []error

	// The root folder is what the flux-system Kustomization applies: it
	// holds the sync objects and every unit's Kustomization.
	rootObjects, err := build(fsys, root, flux.SyncName)
	if err != nil {
		return nil, err
	}
	built.Objects = append(built.Objects, rootObjects...)
	for _, o := range rootObjects {
		if ks, ok := o.Typed.(*kustomizev1.Kustomization); ok {
			built.Kustomizations = append(built.Kustomizations, ks)
		}
	}
	// The units' folders are built and decoded on all cores.
	units := slices.DeleteFunc(slices.Clone(built.Kustomizations), func(ks *kustomizev1.Kustomization) bool { return ks.Name == flux.SyncName })
	for _, ks := range units {
		if dir := path.Clean("/" + ks.Spec.Path); !fsys.Exists(path.Join(dir, "kustomization.yaml")) {
			// Like kustomize-controller, treat a folder without a
			// kustomization.yaml as listing every YAML file in it.
			if err := generateKustomization(fsys, dir); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", ks.Name, err))
			}
		}
	}
	results := make([][]Object, len(units))
	unitErrs := make([]error, len(units))
	var wg sync.WaitGroup
	workers := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, ks := range units {
		wg.Add(1)
		workers <- struct{}{}
		go func() {
			defer func() { <-workers; wg.Done() }()
			results[i], unitErrs[i] = build(fsys, path.Clean("/"+ks.Spec.Path), ks.Name)
		}()
	}
	wg.Wait()
	for i := range units {
		errs = append(errs, unitErrs[i])
		built.Objects = append(built.Objects, results[i]...)
	}
	if errors.Join(errs...) == nil {
		errs = append(errs, references(built, pods)...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("the rendered tree is broken, so nothing was written:\n%w", err)
	}
	return built, nil
}

// build runs kustomize on dir as kustomize-controller does, and decodes
// every resulting object strictly.
func build(fsys filesys.FileSystem, dir, unit string) ([]Object, error) {
	resources, err := kustomize(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("Kustomization %s: kustomize build %s: %w", unit, strings.TrimPrefix(dir, "/"), err)
	}
	var out []Object
	var errs []error
	for _, r := range resources.Resources() {
		o, err := decode(unit, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, o)
	}
	return out, errors.Join(errs...)
}

// kustomize builds dir with the load restriction kustomize-controller uses.
//
// Builds run concurrently. Older kustomize raced on its global OpenAPI
// schema (kustomize#3659), which is why Flux serialises builds; kyaml
// v0.21 guards that state with its own lock, and every build here uses
// the same built-in schema. TestConcurrentBuilds runs under the race
// detector in make test to keep it so.
func kustomize(fsys filesys.FileSystem, dir string) (resmap.ResMap, error) {
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = kustypes.LoadRestrictionsNone
	return krusty.MakeKustomizer(opts).Run(fsys, dir)
}

func generateKustomization(fsys filesys.FileSystem, dir string) error {
	if !fsys.Exists(dir) {
		return fmt.Errorf("folder %s does not exist", dir)
	}
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return err
	}
	var resources []string
	for _, e := range entries {
		if strings.HasSuffix(e, ".yaml") || strings.HasSuffix(e, ".yml") {
			resources = append(resources, e)
		}
	}
	slices.Sort(resources)
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [" + strings.Join(resources, ", ") + "]\n"
	return fsys.WriteFile(path.Join(dir, "kustomization.yaml"), []byte(k))
}

func decode(unit string, r *resource.Resource) (Object, error) {
	gvk := r.GetGvk()
	o := Object{Unit: unit, APIVersion: gvk.ApiVersion(), Kind: gvk.Kind, Namespace: r.GetNamespace(), Name: r.GetName()}
	// The fields straight from kustomize's YAML nodes: RNode.MarshalJSON
	// prints the nodes and parses the text again, a fifth of a render.
	fields, err := r.Map()
	if err != nil {
		return o, fmt.Errorf("%s: %w", o.Ref(), err)
	}
	o.Typed, err = decodeStrict(o.APIVersion, o.Kind, fields)
	if err != nil {
		return o, fmt.Errorf("%s (Kustomization %s): %w", o.Ref(), unit, err)
	}
	return o, nil
}
