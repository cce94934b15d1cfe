// Package crds gathers the CustomResourceDefinitions that the e2e cluster
// installs: Flux's source and kustomize CRDs, HelmRelease (generated with
// controller-gen from helm-controller's API module), MetalLB's, K3s's
// HelmChart/HelmChartConfig, the Flux Operator's FluxInstance, and a
// schemaless Nuclio CRD made here.
//
// Everything comes from the Go module proxy, through the local module cache
// (go mod download); nothing else is fetched.
package crds

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/polylab/polylab-gitops/e2e/tools"
)

// Versions of the modules the CRDs are read from.
const (
	// FluxVersion is the version of source-controller and kustomize-controller,
	// the same as the controllers the harness runs.
	FluxVersion = "v1.9.6"
	// HelmControllerAPIVersion is the newest github.com/fluxcd/helm-controller/api
	// whose go line the local toolchain (Go 1.26) accepts; v1.7.x needs Go 1.27.
	HelmControllerAPIVersion = "v1.6.5"
	// MetalLBVersion is the newest go.universe.tf/metallb on the module proxy.
	MetalLBVersion = "v0.16.2"
	// K3sHelmControllerVersion is the newest github.com/k3s-io/helm-controller
	// v0.17.x on the module proxy.
	K3sHelmControllerVersion = "v0.17.9"
)

// moduleDir is a folder of CRD YAML files inside a module.
type moduleDir struct {
	Module, Version, Dir string
}

// moduleDirs are the CRD folders read from the module cache.
var moduleDirs = []moduleDir{
	{"github.com/fluxcd/source-controller", FluxVersion, "config/crd/bases"},
	{"github.com/fluxcd/kustomize-controller", FluxVersion, "config/crd/bases"},
	{"go.universe.tf/metallb", MetalLBVersion, "config/crd/bases"},
	{"github.com/k3s-io/helm-controller", K3sHelmControllerVersion, "pkg/crds/yaml/generated"},
}

// Load returns every CRD the harness installs, sorted by name. controllerGen
// is the path of a controller-gen binary (see tools.ControllerGen); it runs
// only when the generated HelmRelease CRD is not cached yet.
func Load(ctx context.Context, controllerGen string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var all []*apiextensionsv1.CustomResourceDefinition
	dirs, err := downloadModules(ctx, moduleDirs)
	if err != nil {
		return nil, err
	}
	for i, md := range moduleDirs {
		got, err := ReadDir(filepath.Join(dirs[i], filepath.FromSlash(md.Dir)))
		if err != nil {
			return nil, fmt.Errorf("%s@%s: %w", md.Module, md.Version, err)
		}
		all = append(all, got...)
	}
	hr, err := HelmRelease(ctx, controllerGen)
	if err != nil {
		return nil, err
	}
	all = append(all, hr...)
	fi, err := FluxInstance(ctx)
	if err != nil {
		return nil, err
	}
	all = append(all, fi...)
	all = append(all, Nuclio()...)
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	for i := 1; i < len(all); i++ {
		if all[i].Name == all[i-1].Name {
			return nil, fmt.Errorf("CRD %s is defined twice", all[i].Name)
		}
	}
	return all, nil
}

// ReadDir decodes every CustomResourceDefinition in the .yaml files of dir;
// other documents (a kustomization.yaml, say) are skipped.
func ReadDir(dir string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .yaml files in %s", dir)
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		got, err := Decode(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, got...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no CustomResourceDefinition in %s", dir)
	}
	return out, nil
}

// Decode returns the CustomResourceDefinitions in a multi-document YAML
// stream, skipping documents of any other kind and empty ones.
func Decode(b []byte) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var out []*apiextensionsv1.CustomResourceDefinition
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, err
		}
		if head.Kind != "CustomResourceDefinition" {
			continue
		}
		if head.APIVersion != apiextensionsv1.SchemeGroupVersion.String() {
			return nil, fmt.Errorf("CustomResourceDefinition of apiVersion %q: want %s", head.APIVersion, apiextensionsv1.SchemeGroupVersion)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(doc, crd); err != nil {
			return nil, err
		}
		out = append(out, crd)
	}
}

// downloadModules runs go mod download for the modules and returns the
// folder of each in the module cache, in the same order.
func downloadModules(ctx context.Context, mods []moduleDir) ([]string, error) {
	args := []string{"mod", "download", "-json"}
	for _, m := range mods {
		args = append(args, m.Module+"@"+m.Version)
	}
	// Outside any module, so that no go.mod around the caller is consulted.
	out, err := tools.RunGo(ctx, os.TempDir(), args...)
	if err != nil && len(out) == 0 {
		return nil, err
	}
	dirs := map[string]string{}
	var errs []string
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var m struct{ Path, Version, Dir, Error string }
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("reading go mod download output: %w", err)
		}
		if m.Error != "" {
			errs = append(errs, fmt.Sprintf("%s@%s: %s", m.Path, m.Version, m.Error))
			continue
		}
		dirs[m.Path+"@"+m.Version] = m.Dir
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("go mod download: %s", strings.Join(errs, "; "))
	}
	if err != nil {
		return nil, err
	}
	res := make([]string, len(mods))
	for i, m := range mods {
		d, ok := dirs[m.Module+"@"+m.Version]
		if !ok {
			return nil, fmt.Errorf("go mod download did not report %s@%s", m.Module, m.Version)
		}
		res[i] = d
	}
	return res, nil
}
