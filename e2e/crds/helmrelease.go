package crds

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/polylab/polylab-gitops/e2e/tools"
)

// helmReleaseModule is the wrapper module (tools/helmrelease-crd) whose
// go.mod pins github.com/fluxcd/helm-controller/api at HelmControllerAPIVersion.
const helmReleaseModule = "helmrelease-crd"

// HelmRelease returns the HelmRelease CRD (helm.toolkit.fluxcd.io, version
// v2 only: the API module marks v2beta1 and v2beta2 skipversion, so the real
// CRD of this release does not serve them either). helm-controller publishes no CRD YAML as a Go
// module, so controller-gen generates it from the API types, as
// helm-controller's own Makefile does. The result is cached beside the tools,
// keyed by the API and controller-gen versions.
func HelmRelease(ctx context.Context, controllerGen string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	cache, err := tools.CacheDir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cache, fmt.Sprintf("%s-%s-controller-gen-%s", helmReleaseModule, HelmControllerAPIVersion, tools.ControllerGen.Version))
	if _, err := os.Stat(dir); err != nil {
		if err := generateHelmRelease(ctx, controllerGen, dir); err != nil {
			return nil, fmt.Errorf("generating the HelmRelease CRD from github.com/fluxcd/helm-controller/api@%s: %w", HelmControllerAPIVersion, err)
		}
	}
	return ReadDir(dir)
}

// generateHelmRelease runs controller-gen in a scratch copy of the wrapper
// module and renames its output folder to dir once complete.
func generateHelmRelease(ctx context.Context, controllerGen, dir string) error {
	if controllerGen == "" {
		return fmt.Errorf("no controller-gen binary given")
	}
	src, err := tools.ModuleDir(helmReleaseModule)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "polylab-e2e-helmrelease-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	mod := filepath.Join(work, "mod")
	out := filepath.Join(work, "out")
	if err := tools.CopyModule(src, mod); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, controllerGen,
		"crd:crdVersions=v1",
		"paths=github.com/fluxcd/helm-controller/api/...",
		"output:crd:dir="+out)
	cmd.Dir = mod
	// controller-gen loads the packages through go list, in the wrapper module.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS="+os.Getenv("GOFLAGS")+" -mod=mod")
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", cmd, err, stderr.String())
	}
	if _, err := ReadDir(out); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Rename(out, dir); err != nil && !os.IsExist(err) {
		// A concurrent run may have put its own copy in place first; keep it.
		if _, statErr := os.Stat(dir); statErr != nil {
			return err
		}
	}
	return nil
}
