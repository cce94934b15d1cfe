// Package cli holds what the repository's commands (render, and the
// render-charts and render-secrets it runs for -charts and -secrets) read
// from their command lines alike: the cluster they work on, the flags of
// a diff, how flags are parsed, and the exit status.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
)

// Exit statuses, the same for every command: what 1 means is in each
// command's -h.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
)

// Cluster is the cluster a command works on: -cue, -cluster and -out.
type Cluster struct {
	// CUEDir is the CUE module's folder.
	CUEDir string
	// Name is the cluster, the package cue/clusters/<Name>.
	Name string
	out  string
}

// ClusterFlags adds -cue, -cluster and -out to flags.
func ClusterFlags(flags *flag.FlagSet) *Cluster {
	c := &Cluster{}
	flags.StringVar(&c.CUEDir, "cue", "cue", "the CUE module `dir`ectory holding schema/ and clusters/")
	flags.StringVar(&c.Name, "cluster", "polylab", "the cluster to render: the package cue/clusters/`name`")
	flags.StringVar(&c.out, "out", "", "the output `dir`ectory (default clusters/<cluster>)")
	return c
}

// Out is the cluster's output folder: -out, else clusters/<cluster>.
func (c *Cluster) Out() string {
	if c.out != "" {
		return c.out
	}
	return filepath.Join("clusters", c.Name)
}

// Parse parses args into flags, which print their own errors to their
// output. It reports whether the command goes on and, when it does not,
// the status to exit with: ExitOK after -h, ExitUsage after a bad flag or
// an argument that is not a flag.
func Parse(flags *flag.FlagSet, args []string) (status int, ok bool) {
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK, false
		}
		return ExitUsage, false
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(flags.Output(), "render: unexpected argument %q; see -h\n", flags.Arg(0))
		return ExitUsage, false
	}
	return ExitOK, true
}

// Diff is -diff, -base and -format: what a render would change, against
// the working tree or a git ref, for a terminal or a pull request.
type Diff struct {
	// On is -diff.
	On bool
	// Base is the git ref to compare with; empty, the working tree.
	Base string
	// Format is text or markdown.
	Format string
}

// DiffFlags adds -diff, described by usage, and -base and -format to flags.
func DiffFlags(flags *flag.FlagSet, usage string) *Diff {
	d := &Diff{}
	flags.BoolVar(&d.On, "diff", false, usage)
	flags.StringVar(&d.Base, "base", "", "with -diff, compare with the output directory as committed at git `ref` instead of the working tree")
	flags.StringVar(&d.Format, "format", "text", "with -diff, print `text` for a terminal or markdown for a pull-request comment")
	return d
}

// Check refuses -base or -format without -diff, and a format other than
// text or markdown, saying why on w.
func (d *Diff) Check(w io.Writer) bool {
	if (d.Base != "" || d.Format != "text") && !d.On {
		fmt.Fprintf(w, "render: -base and -format go with -diff\n")
		return false
	}
	if d.Format != "text" && d.Format != "markdown" {
		fmt.Fprintf(w, "render: -format %s: use text or markdown\n", d.Format)
		return false
	}
	return true
}
