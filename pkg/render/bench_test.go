package render_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/tree"
	"github.com/polylab/polylab-gitops/pkg/render/verify"
)

// The benchmarks time each stage of a render of polylab itself and of
// synthetic clusters at 1x, 10x and 100x its size (make bench; the
// README's Performance section has the table).

var sizes = []int{1, 10, 100}

// benchCluster is a cluster the benchmarks render.
type benchCluster struct {
	name    string // as the benchmark names it
	src     render.Source
	cluster string // the package under clusters/
}

// benchClusters are polylab as committed, then the synthetic sizes.
func benchClusters() []benchCluster {
	cs := []benchCluster{{"polylab", render.DirSource("../../cue"), "polylab"}}
	for _, x := range sizes {
		cs = append(cs, benchCluster{fmt.Sprintf("%dx", x), synthetic(scaleOf(x)), "synthetic"})
	}
	return cs
}

func TestSyntheticClustersAreValid(t *testing.T) {
	for _, x := range []int{1, 10} {
		if _, err := render.Build(synthetic(scaleOf(x)), "synthetic"); err != nil {
			t.Fatalf("synthetic %dx: %v", x, err)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	for _, bc := range benchClusters() {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := render.Load(bc.src, bc.cluster); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkObjects times building every object and printing the folders
// Flux applies, unverified.
func BenchmarkObjects(b *testing.B) {
	benchLoaded(b, func(m *model.Model) func() error {
		return func() error { _, _, err := render.Applied(m); return err }
	})
}

// BenchmarkVerify times verifying those folders: a kustomize build of
// each, strict decoding of every object, the references between them.
func BenchmarkVerify(b *testing.B) {
	benchLoaded(b, func(m *model.Model) func() error {
		t, units, err := render.Applied(m)
		return func() error {
			if err == nil {
				_, err = verify.Tree(t, m.Name, render.RuntimePods(units))
			}
			return err
		}
	})
}

// BenchmarkRender times both, with the files Flux does not apply (the
// hosts' inputs, the README).
func BenchmarkRender(b *testing.B) {
	benchLoaded(b, func(m *model.Model) func() error {
		return func() error { _, err := render.RenderModel(m); return err }
	})
}

// benchLoaded loads each cluster once, and times the stage that prepare
// returns for it.
func benchLoaded(b *testing.B, prepare func(m *model.Model) (stage func() error)) {
	for _, bc := range benchClusters() {
		m, err := render.Load(bc.src, bc.cluster)
		if err != nil {
			b.Fatal(err)
		}
		stage := prepare(m)
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := stage(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWrite times comparing with a folder on disk and writing it,
// the first time (everything new) and again (everything unchanged).
func BenchmarkWrite(b *testing.B) {
	for _, bc := range benchClusters() {
		r, err := render.Build(bc.src, bc.cluster)
		if err != nil {
			b.Fatal(err)
		}
		t := r.Tree
		b.Run(bc.name+"/fresh", func(b *testing.B) {
			for b.Loop() {
				dir := b.TempDir()
				plan, err := tree.Compare(t, dir)
				if err != nil {
					b.Fatal(err)
				}
				if err := plan.Apply(); err != nil {
					b.Fatal(err)
				}
			}
		})
		dir := b.TempDir()
		writeTree(b, t, dir)
		b.Run(bc.name+"/unchanged", func(b *testing.B) {
			for b.Loop() {
				if _, err := tree.Compare(t, dir); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCLI times the whole render from a built binary, with -check
// so that every iteration does the same work, beside the floor: the CUE
// CLI exporting the same model.
func BenchmarkCLI(b *testing.B) {
	bin := b.TempDir()
	for _, pkg := range []string{"github.com/polylab/polylab-gitops/cmd/render", "cuelang.org/go/cmd/cue"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range benchClusters() {
		module := b.TempDir()
		if err := os.CopyFS(module, bc.src.FS); err != nil {
			b.Fatal(err)
		}
		out := filepath.Join(b.TempDir(), "out")
		run(b, module, filepath.Join(bin, "render"), "-cue", ".", "-cluster", bc.cluster, "-out", out)
		b.Run(bc.name+"/render", func(b *testing.B) {
			var peak int64
			for b.Loop() {
				peak = max(peak, run(b, module, filepath.Join(bin, "render"), "-cue", ".", "-cluster", bc.cluster, "-out", out, "-check"))
			}
			b.ReportMetric(float64(peak)/1024, "peak-MiB")
		})
		b.Run(bc.name+"/cue-export", func(b *testing.B) {
			var peak int64
			for b.Loop() {
				peak = max(peak, run(b, module, filepath.Join(bin, "cue"), "export", "./clusters/"+bc.cluster, "-e", "cluster", "--out", "json"))
			}
			b.ReportMetric(float64(peak)/1024, "peak-MiB")
		})
	}
}

// run runs a command under GNU time and returns its peak resident memory
// in KiB. (The rusage of a child of this large test binary would start at
// the test binary's own peak: GNU time is small, so its child's is true.)
func run(b *testing.B, dir, name string, args ...string) int64 {
	b.Helper()
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", name}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	kib, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
	if err != nil {
		b.Fatalf("GNU time printed %q", stderr.String())
	}
	return kib
}
