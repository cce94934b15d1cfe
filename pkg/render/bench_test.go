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
	"github.com/polylab/polylab-gitops/pkg/render/tree"
)

// The benchmarks time each stage of a render at 1x, 10x and 100x the size
// of polylab (make bench; the README's Performance section has the table).

var sizes = []int{1, 10, 100}

func TestSyntheticClustersAreValid(t *testing.T) {
	for _, x := range []int{1, 10} {
		if _, _, err := render.Build(synthetic(scaleOf(x)), "synthetic"); err != nil {
			t.Fatalf("synthetic %dx: %v", x, err)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	for _, x := range sizes {
		src := synthetic(scaleOf(x))
		b.Run(fmt.Sprintf("%dx", x), func(b *testing.B) {
			for b.Loop() {
				if _, err := render.Load(src, "synthetic"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRender times building every object and verifying the tree.
func BenchmarkRender(b *testing.B) {
	for _, x := range sizes {
		c, err := render.Load(synthetic(scaleOf(x)), "synthetic")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dx", x), func(b *testing.B) {
			for b.Loop() {
				if _, err := render.Render(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWrite times comparing with a folder on disk and writing it,
// the first time (everything new) and again (everything unchanged).
func BenchmarkWrite(b *testing.B) {
	for _, x := range sizes {
		_, t, err := render.Build(synthetic(scaleOf(x)), "synthetic")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dx/fresh", x), func(b *testing.B) {
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
		b.Run(fmt.Sprintf("%dx/unchanged", x), func(b *testing.B) {
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
	for _, x := range sizes {
		src := synthetic(scaleOf(x))
		module := b.TempDir()
		if err := os.CopyFS(module, src.FS); err != nil {
			b.Fatal(err)
		}
		out := filepath.Join(b.TempDir(), "out")
		run(b, module, filepath.Join(bin, "render"), "-cue", ".", "-cluster", "synthetic", "-out", out)
		b.Run(fmt.Sprintf("%dx/render", x), func(b *testing.B) {
			var peak int64
			for b.Loop() {
				peak = max(peak, run(b, module, filepath.Join(bin, "render"), "-cue", ".", "-cluster", "synthetic", "-out", out, "-check"))
			}
			b.ReportMetric(float64(peak)/1024, "peak-MiB")
		})
		b.Run(fmt.Sprintf("%dx/cue-export", x), func(b *testing.B) {
			var peak int64
			for b.Loop() {
				peak = max(peak, run(b, module, filepath.Join(bin, "cue"), "export", "./clusters/synthetic", "-e", "cluster", "--out", "json"))
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
