// Command render turns a cluster described in CUE into the folder Flux
// syncs: go run ./cmd/render renders cue/clusters/polylab into
// clusters/polylab. See -h for the flags.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/polylab/polylab-gitops/internal/cli"
	"github.com/polylab/polylab-gitops/internal/english"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/review"
	"github.com/polylab/polylab-gitops/pkg/render/tree"
)

func main() {
	// A render is a short batch that builds a large heap once: collect
	// garbage less often than Go's default, while the heap stays well
	// under a gibibyte (the 100x benchmark cluster peaks near 0.6 GiB).
	// README, Performance, has what it saves.
	debug.SetGCPercent(400)
	debug.SetMemoryLimit(768 << 20)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("render", flag.ContinueOnError)
	flags.SetOutput(stderr)
	cluster := cli.ClusterFlags(flags)
	check := flags.Bool("check", false, "write nothing; exit 1 and list every missing, stale or extra file if the output differs from a fresh render")
	diff := cli.DiffFlags(flags, "write nothing; print what a render would change: objects by Flux Kustomization, danger notes, then a unified diff")
	cpuProfile := flags.String("cpuprofile", "", "write a CPU profile of the run to `file`, for go tool pprof")
	flags.Bool("charts", false, "render every HelmRelease with its real chart, as helm-controller installs it, and check the model against what the charts run; with -diff, also compare what the charts render (runs render-charts: -charts -h lists its flags, such as -import)")
	makeSecrets := flags.Bool("secrets", false, "create every Secret the model declares that the secrets folder lacks, SOPS-encrypted to the age recipients of .sops.yaml, and render nothing (runs render-secrets)")
	flags.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./cmd/render [flags]\n\n")
		fmt.Fprintf(stderr, "Renders the cluster described in CUE into the folder Flux syncs. A render\n")
		fmt.Fprintf(stderr, "verifies the whole tree in memory first and writes nothing if anything is wrong.\n\n")
		flags.PrintDefaults()
		fmt.Fprintf(stderr, "\nExit status: 0 done (or up to date), 1 invalid model, failed render or out of date, 2 usage error.\n")
	}
	// -charts hands every flag to render-charts, its own too (-import,
	// -cache, -sums), so it is found before render parses them.
	if has(args, "-charts") {
		if has(args, "-check") || has(args, "-secrets") {
			fmt.Fprintf(stderr, "render: -charts goes alone or with -diff\n")
			return cli.ExitUsage
		}
		return runCommand("render-charts", without(args, "-charts"), stdout, stderr)
	}
	if status, ok := cli.Parse(flags, args); !ok {
		return status
	}
	if modes := countTrue(*check, diff.On, *makeSecrets); modes > 1 {
		fmt.Fprintf(stderr, "render: -check, -diff and -secrets do not go together; pick one\n")
		return cli.ExitUsage
	}
	// Modes that need large libraries live in commands of their own, so
	// that a plain render does not load them (see command.go).
	if *makeSecrets {
		return runCommand("render-secrets", without(args, "-secrets"), stdout, stderr)
	}
	if !diff.Check(stderr) {
		return cli.ExitUsage
	}
	out := cluster.Out()
	// A single run shows what benchmarks, which repeat a render in one
	// process, hide: the cost of every cache's first fill.
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "render: -cpuprofile: %v\n", err)
			return cli.ExitUsage
		}
		defer stop()
	}

	start := time.Now()
	cwd, _ := os.Getwd()
	r, err := render.Build(render.DirSource(cluster.CUEDir), cluster.Name)
	if err != nil {
		render.PrintError(stderr, err, cwd)
		return cli.ExitFailed
	}
	t := r.Tree
	if diff.On && diff.Base != "" {
		before, err := review.GitFiles(diff.Base, out)
		if err != nil {
			fmt.Fprintf(stderr, "render: %v\n", err)
			return cli.ExitFailed
		}
		return printDiff(stdout, stderr, before, t, review.Heading{Dir: filepath.ToSlash(out), Base: diff.Base}, diff.Format)
	}
	plan, err := tree.Compare(t, out)
	if err != nil {
		fmt.Fprintf(stderr, "render: %v\n", err)
		return cli.ExitFailed
	}
	switch {
	case *check:
		if len(plan.Changes) == 0 {
			fmt.Fprintf(stdout, "render: %s is up to date (%d files)\n", out, plan.Unchanged)
			return cli.ExitOK
		}
		fmt.Fprintf(stderr, "render: %s is out of date:\n", out)
		for _, c := range plan.Changes {
			fmt.Fprintf(stderr, "  %-7s  %s\n", c.Kind, filepath.ToSlash(filepath.Join(out, c.Path)))
		}
		fmt.Fprintf(stderr, "run `%s` to update it\n", tree.Command)
		return cli.ExitFailed
	case diff.On:
		return printDiff(stdout, stderr, review.OnDisk(t, plan), t, review.Heading{Dir: filepath.ToSlash(out)}, diff.Format)
	}
	warning := removals(t, plan)
	if err := plan.Apply(); err != nil {
		fmt.Fprintf(stderr, "render: writing %s: %v\n", out, err)
		return cli.ExitFailed
	}
	fmt.Fprintf(stdout, "render: %s: %d written, %d unchanged, %d removed in %s%s\n", out,
		plan.Count(tree.Missing)+plan.Count(tree.Stale), plan.Unchanged, plan.Count(tree.Extra),
		time.Since(start).Round(time.Millisecond), warning)
	return cli.ExitOK
}

// removals says, for the end of the summary line, what a render takes
// away from the cluster compared with the folder on disk: the Flux
// Kustomizations and namespaces Flux will prune and the flows that stop,
// and how to review it. Nothing when it takes nothing away.
func removals(t *tree.Tree, plan *tree.Plan) string {
	if plan.Count(tree.Stale)+plan.Count(tree.Extra) == 0 {
		return ""
	}
	// Only the changed files differ; the top-level ones say how Flux prunes.
	changed := map[string]bool{}
	for _, c := range plan.Changes {
		changed[c.Path] = true
	}
	keep := func(files review.Files) review.Files {
		out := review.Files{}
		for p, b := range files {
			if changed[p] || !strings.Contains(p, "/") {
				out[p] = b
			}
		}
		return out
	}
	r := review.Diff(keep(review.OnDisk(t, plan)), keep(review.TreeFiles(t))).Removals()
	var what []string
	switch n := len(r.Kustomizations); {
	case n == 1:
		what = append(what, "Flux Kustomization "+r.Kustomizations[0])
	case n > 1:
		what = append(what, "Flux Kustomizations "+and(r.Kustomizations))
	}
	switch n := len(r.Namespaces); {
	case n == 1:
		what = append(what, "namespace "+r.Namespaces[0]+" with everything in it")
	case n > 1:
		what = append(what, "namespaces "+and(r.Namespaces)+" with everything in them")
	}
	if r.Flows > 0 {
		what = append(what, english.Plural(r.Flows, "flow"))
	}
	if len(what) == 0 {
		return ""
	}
	return fmt.Sprintf("; it removes %s: review the change with %s -diff -base HEAD before you commit", and(what), tree.Command)
}

// and joins a list as a sentence does: a, b and c.
func and(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// startCPUProfile profiles the process into file until stop is called.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// printDiff prints what the rendered tree changes from before: the object
// diff and its danger notes, then, as text, the unified diff of the files.
func printDiff(stdout, stderr io.Writer, before review.Files, t *tree.Tree, h review.Heading, format string) int {
	after := review.TreeFiles(t)
	if err := review.Write(stdout, format, review.Diff(before, after), h, before, after); err != nil {
		fmt.Fprintf(stderr, "render: %v\n", err)
		return cli.ExitFailed
	}
	return cli.ExitOK
}

func countTrue(flags ...bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}
