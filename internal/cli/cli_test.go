package cli

import (
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		ok     bool
		out    string
	}{
		{args: nil, status: ExitOK, ok: true},
		{args: []string{"-h"}, status: ExitOK, ok: false, out: "Usage"},
		{args: []string{"-nope"}, status: ExitUsage, ok: false, out: "flag provided but not defined: -nope"},
		{args: []string{"polylab"}, status: ExitUsage, ok: false, out: `render: unexpected argument "polylab"; see -h`},
	} {
		var out strings.Builder
		flags := flag.NewFlagSet("test", flag.ContinueOnError)
		flags.SetOutput(&out)
		ClusterFlags(flags)
		status, ok := Parse(flags, tc.args)
		if status != tc.status || ok != tc.ok || !strings.Contains(out.String(), tc.out) {
			t.Errorf("Parse(%q) = %d, %v, printing %q; want %d, %v, printing %q", tc.args, status, ok, out.String(), tc.status, tc.ok, tc.out)
		}
	}
}

func TestClusterOut(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, filepath.Join("clusters", "polylab")},
		{[]string{"-cluster", "lab2"}, filepath.Join("clusters", "lab2")},
		{[]string{"-cluster", "lab2", "-out", "elsewhere"}, "elsewhere"},
	} {
		flags := flag.NewFlagSet("test", flag.ContinueOnError)
		c := ClusterFlags(flags)
		if err := flags.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if got := c.Out(); got != tc.want {
			t.Errorf("%q: Out() = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestDiffCheck(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
		out  string
	}{
		{nil, true, ""},
		{[]string{"-diff", "-base", "main", "-format", "markdown"}, true, ""},
		{[]string{"-base", "main"}, false, "render: -base and -format go with -diff\n"},
		{[]string{"-format", "markdown"}, false, "render: -base and -format go with -diff\n"},
		{[]string{"-diff", "-format", "html"}, false, "render: -format html: use text or markdown\n"},
	} {
		flags := flag.NewFlagSet("test", flag.ContinueOnError)
		flags.SetOutput(io.Discard)
		d := DiffFlags(flags, "diff")
		if err := flags.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		if ok := d.Check(&out); ok != tc.ok || out.String() != tc.out {
			t.Errorf("%q: Check = %v, printing %q; want %v, printing %q", tc.args, ok, out.String(), tc.ok, tc.out)
		}
	}
}
