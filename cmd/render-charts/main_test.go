package main

import (
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/rogpeppe/go-internal/testscript"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/registry"

	"github.com/polylab/polylab-gitops/internal/scripttest"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/tree"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"render-charts": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScript runs the txtar scripts in testdata/script: each shows a
// user's command and its output. UPDATE_SCRIPTS=1 rewrites the expected
// output in place; review the diff before committing it.
//
// Every script starts in a folder holding cue/cue.mod and cue/schema from
// this repository. The charts are folders in the script, packaged by the
// command package-chart (tests never commit archives); oci-registry
// starts an OCI registry on loopback for push-chart; render-tree writes
// a cluster's folder as render does; expand puts the environment's
// ${VARS} into a file.
func TestScript(t *testing.T) {
	p := scripttest.Params(func(env *testscript.Env) error {
		// A cache of the script's own, never the user's.
		env.Setenv(CacheEnv, filepath.Join(env.WorkDir, "cache"))
		return nil
	})
	p.Cmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"package-chart": packageChart,
		"oci-registry":  ociRegistry,
		"push-chart":    pushChart,
		"render-tree":   renderTree,
		"expand":        expand,
	}
	testscript.Run(t, p)
}

// package-chart DIR FILE packages the chart folder DIR into the archive
// FILE, as helm package does.
func packageChart(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: package-chart DIR FILE")
	}
	ch, err := loader.LoadDir(ts.MkAbs(args[0]))
	ts.Check(err)
	tmp, err := os.MkdirTemp("", "chart")
	ts.Check(err)
	defer os.RemoveAll(tmp)
	p, err := chartutil.Save(ch, tmp)
	ts.Check(err)
	b, err := os.ReadFile(p)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o644))
}

// oci-registry starts an OCI registry on loopback for the rest of the
// script and sets REGISTRY to its host:port.
func ociRegistry(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: oci-registry")
	}
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	ts.Defer(srv.Close)
	ts.Setenv("REGISTRY", strings.TrimPrefix(srv.URL, "http://"))
}

// push-chart FILE REPOSITORY pushes a chart archive to an OCI repository
// (oci://host/path), tagged with its Chart.yaml version as helm push does.
func pushChart(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: push-chart FILE oci://REPOSITORY")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	ch, err := loader.LoadArchive(strings.NewReader(string(b)))
	ts.Check(err)
	client, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptCredentialsFile(ts.MkAbs("registry-config.json")))
	ts.Check(err)
	_, err = client.Push(b, strings.TrimPrefix(args[1], "oci://")+"/"+ch.Metadata.Name+":"+ch.Metadata.Version)
	ts.Check(err)
}

// render-tree CLUSTER writes clusters/CLUSTER as render does.
func renderTree(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: render-tree CLUSTER")
	}
	r, err := render.Build(render.DirSource(ts.MkAbs("cue")), args[0])
	ts.Check(err)
	plan, err := tree.Compare(r.Tree, ts.MkAbs(filepath.Join("clusters", args[0])))
	ts.Check(err)
	ts.Check(plan.Apply())
}

// expand FILE... replaces each ${NAME} in the files with the variable's value.
func expand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: expand FILE...")
	}
	for _, f := range args {
		b, err := os.ReadFile(ts.MkAbs(f))
		ts.Check(err)
		out := regexp.MustCompile(`\$\{([A-Z_]+)\}`).ReplaceAllStringFunc(string(b), func(v string) string {
			return ts.Getenv(v[2 : len(v)-1])
		})
		ts.Check(os.WriteFile(ts.MkAbs(f), []byte(out), 0o644))
	}
}
