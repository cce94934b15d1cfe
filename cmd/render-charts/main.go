// Command render-charts renders a cluster as render does, then renders
// every HelmRelease of it with its real chart, as Flux's helm-controller
// will install it, and checks the model against what the charts really
// run. go run ./cmd/render -charts runs it; -diff -charts also compares
// what the charts render with the tree at -base or on disk. It writes
// nothing but charts.sum, the record of the charts' digests.
//
// It lives in a command of its own because Helm's SDK adds about 70 MB
// and 25 ms of start-up to any binary that links it: a plain render does
// not pay for it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/polylab/polylab-gitops/internal/cli"
	"github.com/polylab/polylab-gitops/internal/english"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/charts"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/review"
	"github.com/polylab/polylab-gitops/pkg/render/tree"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// CacheEnv names the chart cache's folder when -cache does not.
const CacheEnv = "POLYLAB_CHART_CACHE"

// imports are the -import flags, in order.
type imports []string

func (i *imports) String() string     { return strings.Join(*i, ",") }
func (i *imports) Set(v string) error { *i = append(*i, v); return nil }

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("render -charts", flag.ContinueOnError)
	flags.SetOutput(stderr)
	cluster := cli.ClusterFlags(flags)
	diff := cli.DiffFlags(flags, "check nothing; print what a render would change, the objects the charts render included")
	cacheDir := flags.String("cache", "", "the chart cache `dir`ectory (default $"+CacheEnv+", else the user's cache folder: polylab-gitops/charts)")
	sumsFile := flags.String("sums", "charts.sum", "the `file` recording each chart's digest; new charts are recorded in it")
	var imported imports
	flags.Var(&imported, "import", "add the chart archive `file` (helm pull writes one) to the cache, for the chart the model pins with its name and version; may repeat")
	flags.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./cmd/render -charts [flags]\n\n")
		fmt.Fprintf(stderr, "Renders the cluster, then every HelmRelease with its real chart as helm-controller\n")
		fmt.Fprintf(stderr, "installs it, and checks the model against what the charts run. Charts come from\n")
		fmt.Fprintf(stderr, "the cache, or are pulled and recorded in charts.sum.\n\n")
		flags.PrintDefaults()
		fmt.Fprintf(stderr, "\nExit status: 0 every check passed (or -diff done), 1 a problem, a chart missing or refused, 2 usage error.\n")
	}
	if status, ok := cli.Parse(flags, args); !ok {
		return status
	}
	if !diff.Check(stderr) {
		return cli.ExitUsage
	}
	if *cacheDir == "" {
		*cacheDir = os.Getenv(CacheEnv)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	c := &command{stdout: stdout, stderr: stderr, sumsFile: *sumsFile}
	c.cwd, _ = os.Getwd()
	start := time.Now()
	r, err := render.Build(render.DirSource(cluster.CUEDir), cluster.Name)
	if err != nil {
		render.PrintError(stderr, err, c.cwd)
		return cli.ExitFailed
	}
	c.result = r
	if c.cache, err = charts.OpenCache(*cacheDir); err != nil {
		fmt.Fprintf(stderr, "render: %v\n", err)
		return cli.ExitFailed
	}
	if c.sums, err = charts.ReadSums(*sumsFile); err != nil {
		fmt.Fprintf(stderr, "render: %v\n", err)
		return cli.ExitFailed
	}
	for _, file := range imported {
		if err := c.importChart(file); err != nil {
			fmt.Fprintf(stderr, "render: -import %s: %v\n", file, err)
			return cli.ExitFailed
		}
	}
	if diff.On {
		return c.diff(ctx, cluster.Out(), diff.Base, diff.Format)
	}
	return c.check(ctx, cluster.Out(), start)
}

type command struct {
	stdout, stderr io.Writer
	cwd            string
	result         *render.Result
	cache          *charts.Cache
	sums           *charts.Sums
	sumsFile       string
}

// importChart adds an archive to the cache as the chart the model pins
// with its name and version.
func (c *command) importChart(file string) error {
	ref, digest, err := charts.ImportArchive(c.cache, c.sums, charts.FromBuilt(c.result.Built), c.result.Model.Name, file)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "imported %s (%s)\n", ref, digest)
	return nil
}

// renderCharts renders the charts of a tree, records new digests, and
// prints why a chart could not be had.
func (c *command) renderCharts(ctx context.Context, t charts.Tree, sums *charts.Sums) ([]*charts.Rendered, bool) {
	rendered, err := charts.RenderTree(ctx, t, charts.Options{Cache: c.cache, Sums: sums, KubeVersion: c.result.Model.Versions.K3s, Progress: c.stderr})
	if sums == c.sums && c.sums.Changed() {
		if werr := c.sums.Write(c.sumsFile); werr != nil {
			fmt.Fprintf(c.stderr, "render: %v\n", werr)
			return nil, false
		}
		fmt.Fprintf(c.stderr, "render: recorded the digests of new charts in %s; commit it\n", c.sumsFile)
	}
	if err == nil {
		return rendered, true
	}
	var missing *charts.MissingError
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		if e == nil {
			continue
		}
		if errors.As(e, &missing) {
			fmt.Fprint(c.stderr, "render: "+missing.Explain("go run ./cmd/render -charts"))
			continue
		}
		fmt.Fprintf(c.stderr, "render: %v\n", e)
	}
	return rendered, false
}

// check renders the charts and checks the model against them.
func (c *command) check(ctx context.Context, out string, start time.Time) int {
	r := c.result
	rendered, ok := c.renderCharts(ctx, charts.FromBuilt(r.Built), c.sums)
	if !ok {
		return cli.ExitFailed
	}
	report, err := charts.Check(charts.Input{Model: r.Model, Units: r.Units, Built: r.Built, Rendered: rendered})
	if err != nil {
		fmt.Fprintf(c.stderr, "render: %v\n", err)
		return cli.ExitFailed
	}
	objects := 0
	for _, rel := range rendered {
		objects += len(rel.Objects)
	}
	fmt.Fprintf(c.stdout, "render: %s: %s rendered with their charts, %s:\n", filepath.ToSlash(out), english.Plural(len(rendered), "HelmRelease"), english.Plural(objects, "object"))
	for _, rel := range rendered {
		fmt.Fprintf(c.stdout, "  %s: %s (%s), %s", rel.Install, strings.TrimPrefix(rel.ChartName(), "chart "), rel.Chart.Digest[:len("sha256:")+12], english.Plural(len(rel.Objects), "object"))
		var on, off []string
		for _, s := range rel.Subcharts {
			on = append(on, subchart(s))
		}
		for _, s := range rel.Disabled {
			off = append(off, subchart(s))
		}
		if len(on) > 0 {
			fmt.Fprintf(c.stdout, "; subcharts installed: %s", strings.Join(on, ", "))
		}
		if len(off) > 0 {
			fmt.Fprintf(c.stdout, "; off: %s", strings.Join(off, ", "))
		}
		fmt.Fprintln(c.stdout)
	}
	fmt.Fprintf(c.stdout, "checked: %s\n", report.Checked)
	for _, n := range report.Notes {
		fmt.Fprintf(c.stdout, "not checked: %s\n", n)
	}
	if len(report.Problems) > 0 {
		render.PrintProblems(c.stderr, report.Problems.Locate(r.Model.Source), c.cwd, "with what the charts really run; fix the model")
		return cli.ExitFailed
	}
	fmt.Fprintf(c.stdout, "render: every check passed in %s\n", time.Since(start).Round(time.Millisecond))
	return cli.ExitOK
}

// subchart names an enabled or disabled subchart: "nuclio 0.20.1", or
// "redis (redis 19.6.4)" for one whose values path is not its name.
func subchart(s charts.Subchart) string {
	name := s.Name + " " + s.Version
	if s.Path != s.Name {
		name = s.Path + " (" + name + ")"
	}
	return name
}

// diff prints what a render changes, the objects the charts render
// included: before is the tree at -base or on disk, with the charts its
// HelmReleases pin; after is a fresh render and its charts.
func (c *command) diff(ctx context.Context, out, base, format string) int {
	t := c.result.Tree
	var before review.Files
	heading := review.Heading{Dir: filepath.ToSlash(out), Base: base}
	if base != "" {
		files, err := review.GitFiles(base, out)
		if err != nil {
			fmt.Fprintf(c.stderr, "render: %v\n", err)
			return cli.ExitFailed
		}
		before = files
	} else {
		plan, err := tree.Compare(t, out)
		if err != nil {
			fmt.Fprintf(c.stderr, "render: %v\n", err)
			return cli.ExitFailed
		}
		before = review.OnDisk(t, plan)
	}
	after := review.TreeFiles(t)
	treeBefore, treeAfter := maps.Clone(before), maps.Clone(after)

	beforeTree, err := charts.FromFiles(before)
	if err != nil {
		fmt.Fprintf(c.stderr, "render: the tree compared with: %v\n", err)
		return cli.ExitFailed
	}
	// The other side's charts are checked against charts.sum when it
	// records them, and never recorded: they are not this tree's.
	beforeSums, err := charts.ReadSums(c.sumsFile)
	if err != nil {
		fmt.Fprintf(c.stderr, "render: %v\n", err)
		return cli.ExitFailed
	}
	oldCharts, ok := c.renderCharts(ctx, beforeTree, beforeSums)
	if !ok {
		fmt.Fprintf(c.stderr, "render: could not render the charts of the tree compared with\n")
		return cli.ExitFailed
	}
	newCharts, ok := c.renderCharts(ctx, charts.FromBuilt(c.result.Built), c.sums)
	if !ok {
		return cli.ExitFailed
	}
	for _, side := range []struct {
		files    review.Files
		rendered []*charts.Rendered
	}{{before, oldCharts}, {after, newCharts}} {
		if err := addChartFiles(side.files, side.rendered); err != nil {
			fmt.Fprintf(c.stderr, "render: %v\n", err)
			return cli.ExitFailed
		}
	}
	if err := review.Write(c.stdout, format, review.Diff(before, after), heading, treeBefore, treeAfter); err != nil {
		fmt.Fprintf(c.stderr, "render: %v\n", err)
		return cli.ExitFailed
	}
	return cli.ExitOK
}

// addChartFiles adds the objects each release's chart renders to files,
// one a file, where review groups them by HelmRelease.
func addChartFiles(files review.Files, rendered []*charts.Rendered) error {
	for _, rel := range rendered {
		hr := rel.HelmRelease
		for _, o := range rel.Objects {
			b, err := kube.Marshal(o)
			if err != nil {
				return err
			}
			name := strings.ToLower(o.GetKind()) + "-" + o.GetName() + ".yaml"
			if ns := o.GetNamespace(); ns != "" && ns != hr.Namespace {
				name = strings.ToLower(o.GetKind()) + "-" + ns + "-" + o.GetName() + ".yaml"
			}
			p := review.ChartPath(hr.Namespace, hr.Name, name)
			if o.Hook != nil {
				p = strings.TrimSuffix(p, ".yaml") + ".hook.yaml"
			}
			files[p] = b
		}
	}
	return nil
}
