package crds

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/dirhash"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/polylab/polylab-gitops/e2e/tools"
)

// The Flux Operator's module, whose FluxInstance CRD the rendered
// flux-system folder uses. Its go.mod asks for Go 1.27, so go mod download
// refuses it on this toolchain; the harness takes the module's zip from
// the Go module proxy itself and checks it against the hash the checksum
// database holds for it (as go.sum would).
const (
	FluxOperatorModule  = "github.com/controlplaneio-fluxcd/flux-operator"
	FluxOperatorVersion = "v0.59.0"
	fluxOperatorHash    = "h1:jByuiWYtjSJxucGHuz68tV0DeVFz5CYrKQYfxAwE7lE="
	fluxInstanceCRDFile = "config/crd/bases/fluxcd.controlplane.io_fluxinstances.yaml"
)

// FluxInstance returns the Flux Operator's FluxInstance CRD at
// FluxOperatorVersion.
func FluxInstance(ctx context.Context) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	zipFile, err := fluxOperatorZip(ctx)
	if err != nil {
		return nil, err
	}
	if got, err := dirhash.HashZip(zipFile, dirhash.Hash1); err != nil || got != fluxOperatorHash {
		return nil, fmt.Errorf("%s@%s: the zip's hash is %s (%v), want %s", FluxOperatorModule, FluxOperatorVersion, got, err, fluxOperatorHash)
	}
	r, err := zip.OpenReader(zipFile)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	want := FluxOperatorModule + "@" + FluxOperatorVersion + "/" + fluxInstanceCRDFile
	for _, f := range r.File {
		if f.Name != want {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		return Decode(b)
	}
	return nil, fmt.Errorf("%s@%s has no %s", FluxOperatorModule, FluxOperatorVersion, fluxInstanceCRDFile)
}

// fluxOperatorZip returns the module's zip: the module cache's copy when
// there is one, else one downloaded from the first proxy of GOPROXY into
// the harness's cache.
func fluxOperatorZip(ctx context.Context) (string, error) {
	out, err := tools.RunGo(ctx, os.TempDir(), "env", "GOMODCACHE", "GOPROXY")
	if err != nil {
		return "", err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return "", fmt.Errorf("go env: %q", out)
	}
	modCache, proxies := lines[0], lines[1]
	cached := filepath.Join(modCache, "cache", "download", FluxOperatorModule, "@v", FluxOperatorVersion+".zip")
	if _, err := os.Stat(cached); err == nil {
		return cached, nil
	}
	proxy, _, _ := strings.Cut(strings.FieldsFunc(proxies, func(r rune) bool { return r == ',' || r == '|' })[0], " ")
	if !strings.HasPrefix(proxy, "http") {
		return "", fmt.Errorf("GOPROXY=%s names no proxy to download %s from", proxies, FluxOperatorModule)
	}
	dir, err := tools.CacheDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	dest := filepath.Join(dir, "flux-operator-"+FluxOperatorVersion+".zip")
	if _, err := os.Stat(dest); err == nil {
		return dest, nil
	}
	url := strings.TrimSuffix(proxy, "/") + "/" + FluxOperatorModule + "/@v/" + FluxOperatorVersion + ".zip"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	tmp, err := os.CreateTemp(dir, "flux-operator-*.zip")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, resp.Body); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return dest, os.Rename(tmp.Name(), dest)
}
