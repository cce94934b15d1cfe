// Package tools builds the binaries that the e2e harness runs (etcd,
// kube-apiserver, Flux's source-controller and kustomize-controller) and the
// controller-gen it uses to generate a CRD, all from the Go module proxy.
//
// Each binary has a small wrapper module beside this file, tools/<name>/,
// whose go.mod requires the upstream module (with the replaces it needs) and
// whose go.sum pins every dependency. A binary is built once into the user's
// cache folder, keyed by name and version:
//
//	$(os.UserCacheDir)/polylab-gitops/e2e/<name>-<version>/<name>
//
// and reused by every later run on the same machine.
package tools

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// CacheDirEnv names the environment variable that, when set, replaces the
// default cache folder $(os.UserCacheDir)/polylab-gitops/e2e.
const CacheDirEnv = "POLYLAB_E2E_CACHE_DIR"

// ModulesDirEnv names the environment variable that, when set, tells where
// the wrapper modules live (the folder holding etcd/go.mod, ...). By default
// they are found beside this package's source file.
const ModulesDirEnv = "POLYLAB_E2E_TOOLS_DIR"

// Tool is one binary built from the wrapper module tools/<Name>.
type Tool struct {
	// Name is the wrapper module's folder name and the binary's file name.
	Name string
	// Version is the upstream module's version; it keys the cache folder.
	Version string
	// Package is the import path of the main package to build.
	Package string
	// LDFlags are passed to go build -ldflags.
	LDFlags string
}

// The tools, at the versions the wrapper modules pin. A version bump must
// change both the wrapper's go.mod and the Version here, so that the cache
// key changes with it.
var (
	Etcd = Tool{
		Name:    "etcd",
		Version: "v3.6.16",
		Package: "go.etcd.io/etcd/server/v3",
		LDFlags: "-s -w",
	}
	KubeAPIServer = Tool{
		Name:    "kube-apiserver",
		Version: "v1.34.4",
		Package: "k8s.io/kubernetes/cmd/kube-apiserver",
		// What Kubernetes' own build stamps in (hack/lib/version.sh).
		LDFlags: "-s -w" +
			" -X k8s.io/component-base/version.gitVersion=v1.34.4" +
			" -X k8s.io/component-base/version.gitMajor=1" +
			" -X k8s.io/component-base/version.gitMinor=34",
	}
	SourceController = Tool{
		Name:    "source-controller",
		Version: "v1.9.6",
		Package: "github.com/fluxcd/source-controller",
		LDFlags: "-s -w",
	}
	KustomizeController = Tool{
		Name:    "kustomize-controller",
		Version: "v1.9.6",
		Package: "github.com/fluxcd/kustomize-controller",
		LDFlags: "-s -w",
	}
	ControllerGen = Tool{
		Name:    "controller-gen",
		Version: "v0.19.0",
		Package: "sigs.k8s.io/controller-tools/cmd/controller-gen",
		LDFlags: "-s -w",
	}
)

// All returns every tool, cheapest build first.
func All() []Tool {
	return []Tool{Etcd, ControllerGen, SourceController, KustomizeController, KubeAPIServer}
}

// Bins holds the paths of the built binaries.
type Bins struct {
	Etcd                string
	KubeAPIServer       string
	SourceController    string
	KustomizeController string
	ControllerGen       string
}

// EnsureAll builds, one after another, every tool whose binary is not in the
// cache yet, and returns the paths of all of them. Progress and build times
// are written to log; a warm cache builds nothing and writes nothing.
func EnsureAll(ctx context.Context, log io.Writer) (Bins, error) {
	var b Bins
	for _, t := range All() {
		p, err := t.Ensure(ctx, log)
		if err != nil {
			return Bins{}, err
		}
		switch t.Name {
		case Etcd.Name:
			b.Etcd = p
		case KubeAPIServer.Name:
			b.KubeAPIServer = p
		case SourceController.Name:
			b.SourceController = p
		case KustomizeController.Name:
			b.KustomizeController = p
		case ControllerGen.Name:
			b.ControllerGen = p
		}
	}
	return b, nil
}

// CacheDir returns the folder that holds the built tools (and the harness's
// other generated files): $POLYLAB_E2E_CACHE_DIR if set, else
// $(os.UserCacheDir)/polylab-gitops/e2e.
func CacheDir() (string, error) {
	if d := os.Getenv(CacheDirEnv); d != "" {
		return filepath.Abs(d)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locating the user cache folder (set %s to choose one): %w", CacheDirEnv, err)
	}
	return filepath.Join(base, "polylab-gitops", "e2e"), nil
}

// Path returns where the tool's binary lives in the cache, built or not.
func (t Tool) Path() (string, error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, t.Name+"-"+t.Version, t.Name), nil
}

// Ensure returns the path of the tool's binary, building it first if it is
// not in the cache. Concurrent callers, in this process or another, build it
// at most once.
func (t Tool) Ensure(ctx context.Context, log io.Writer) (string, error) {
	bin, err := t.Path()
	if err != nil {
		return "", err
	}
	if isFile(bin) {
		return bin, nil
	}
	unlock, err := lockFile(bin + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if isFile(bin) { // another process built it while we waited
		return bin, nil
	}
	fmt.Fprintf(log, "e2e tools: building %s %s (first run on this machine; this takes minutes)\n", t.Name, t.Version)
	start := time.Now()
	if err := t.build(ctx, bin); err != nil {
		return "", fmt.Errorf("building %s %s: %w", t.Name, t.Version, err)
	}
	fmt.Fprintf(log, "e2e tools: built %s %s in %s -> %s\n", t.Name, t.Version, time.Since(start).Round(time.Second), bin)
	return bin, nil
}

// build copies the wrapper module to a scratch folder (so the source tree is
// never written to) and runs go build there; the binary is renamed into place
// only once complete, so an interrupted build leaves no binary behind.
func (t Tool) build(ctx context.Context, bin string) error {
	src, err := ModuleDir(t.Name)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "polylab-e2e-build-"+t.Name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := CopyModule(src, work); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return err
	}
	tmp := bin + ".partial"
	defer os.Remove(tmp)
	if _, err := RunGo(ctx, work, "build", "-mod=mod", "-trimpath", "-ldflags", t.LDFlags, "-o", tmp, t.Package); err != nil {
		return err
	}
	return os.Rename(tmp, bin)
}

// ModuleDir returns the folder of the wrapper module called name
// (tools/<name> beside this package's source, or under $POLYLAB_E2E_TOOLS_DIR).
func ModuleDir(name string) (string, error) {
	root := os.Getenv(ModulesDirEnv)
	if root == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			return "", fmt.Errorf("cannot locate the e2e wrapper modules: set %s", ModulesDirEnv)
		}
		root = filepath.Dir(file)
	}
	dir := filepath.Join(root, name)
	if !isFile(filepath.Join(dir, "go.mod")) {
		return "", fmt.Errorf("wrapper module %s not found (no %s); set %s to the e2e/tools folder",
			name, filepath.Join(dir, "go.mod"), ModulesDirEnv)
	}
	return dir, nil
}

// CopyModule copies the regular files at the top of a wrapper module
// (go.mod, go.sum, any .go file) into dst, which it creates if needed.
func CopyModule(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
