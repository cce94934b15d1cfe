package review_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	cuemodule "github.com/polylab/polylab-gitops/cue"
	"github.com/polylab/polylab-gitops/internal/mermaid"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/review"
)

// update rewrites the golden files: UPDATE_GOLDEN=1 go test ./pkg/render/review
var update = os.Getenv("UPDATE_GOLDEN") != ""

// edited is the project's CUE module with some files' text changed and
// files added, as a pull request would.
func edited(t *testing.T, edits map[string][2]string, added map[string]string) render.Source {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(cuemodule.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(cuemodule.FS, p)
		if err != nil {
			return err
		}
		if e, ok := edits[p]; ok {
			if !bytes.Contains(b, []byte(e[0])) {
				t.Fatalf("%s does not hold %q", p, e[0])
			}
			b = bytes.Replace(b, []byte(e[0]), []byte(e[1]), 1)
		}
		m[p] = &fstest.MapFile{Data: b}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, text := range added {
		m[p] = &fstest.MapFile{Data: []byte(text)}
	}
	return render.Source{FS: m, Display: "cue"}
}

func build(t *testing.T, src render.Source, cluster string) (review.Files, *model.Model) {
	t.Helper()
	r, err := render.Build(src, cluster)
	if err != nil {
		var b bytes.Buffer
		render.PrintError(&b, err, "")
		t.Fatalf("render %s:\n%s", cluster, b.String())
	}
	return review.TreeFiles(r.Tree), r.Model
}

func markdown(t *testing.T, before, after review.Files) string {
	t.Helper()
	var b bytes.Buffer
	if err := review.WriteMarkdown(&b, review.Diff(before, after), review.Heading{Dir: "clusters/polylab", Base: "origin/main"}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var mermaidFence = regexp.MustCompile("(?ms)^```mermaid\n(.*?)^```$")

// blocks are the ```mermaid blocks of a Markdown text.
func blocks(md string) []string {
	var out []string
	for _, m := range mermaidFence.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	return out
}

// freeAddress is an address of the LoadBalancer pool no LoadBalancer takes.
func freeAddress(t *testing.T, m *model.Model) netip.Addr {
	taken := map[netip.Addr]bool{}
	for _, a := range m.Apps {
		for _, w := range a.Workloads {
			for _, lb := range w.LoadBalancers {
				taken[lb.IP] = true
			}
		}
	}
	for a := m.Network.LoadBalancerPool.First; m.Network.LoadBalancerPool.Contains(a); a = a.Next() {
		if !taken[a] {
			return a
		}
	}
	t.Fatal("the pool is full")
	return netip.Addr{}
}

// TestEveryMermaidBlock renders the README of every cluster of the CUE
// module and the pull-request comment of a few changes to polylab, and
// parses every Mermaid block they hold with Mermaid's own parser: what a
// reader's browser would refuse fails here first. A flow change draws a
// small picture of just that change (testdata/picture.polylab.md, which
// make pictures draws), a change to nothing the picture shows draws none,
// and a change too large for a picture says so.
func TestEveryMermaidBlock(t *testing.T) {
	var diagrams, where []string
	add := func(name, md string) {
		for i, d := range blocks(md) {
			diagrams = append(diagrams, d)
			where = append(where, fmt.Sprintf("%s, diagram %d", name, i+1))
		}
	}
	entries, err := fs.ReadDir(cuemodule.FS, "clusters")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		files, _ := build(t, render.Source{FS: cuemodule.FS, Display: "cue"}, e.Name())
		add(e.Name()+"/README.md", string(files["README.md"]))
	}
	if len(diagrams) < 4 {
		t.Fatalf("the clusters' READMEs hold %d diagrams", len(diagrams))
	}

	base, m := build(t, render.Source{FS: cuemodule.FS, Display: "cue"}, "polylab")
	var lb *model.LoadBalancer
	for _, a := range m.Apps {
		for _, w := range a.Workloads {
			if len(w.LoadBalancers) > 0 && lb == nil && !infrastructureApp(a) {
				lb = &w.LoadBalancers[0]
			}
		}
	}
	// A flow that goes (the first from one app of the apps layer to
	// another) and one that comes (its reverse, on a port of the source).
	var gone model.Link
	for _, l := range m.Links {
		if l.From.External == nil && l.From.App != l.To.App && !infrastructureApp(l.From.App) && !infrastructureApp(l.To.App) && len(l.From.Workload.Ports) > 0 {
			gone = l
			break
		}
	}
	flowsCUE := "clusters/polylab/flows.cue"
	declared := fmt.Sprintf("{from: %q, to: %q, port: %q, purpose: %q},", gone.Flow.From, gone.Flow.To, gone.Flow.Port.String(), gone.Purpose)
	reverse := fmt.Sprintf("{from: %q, to: %q, port: %q, purpose: \"a test asks back\"},", gone.Flow.To, gone.Flow.From, gone.From.Workload.Ports[0].Name)
	free := freeAddress(t, m)
	changes := []struct {
		name    string
		edits   map[string][2]string
		added   map[string]string
		picture bool
	}{
		{name: "a flow replaced by its reverse", edits: map[string][2]string{flowsCUE: {declared, reverse}}, picture: true},
		{name: "a LoadBalancer IP moved", edits: map[string][2]string{"clusters/polylab/apps.cue": {`"` + lb.IP.String() + `"`, `"` + free.String() + `"`}}, picture: true},
		{name: "an app added", added: map[string]string{"clusters/polylab/zz_echo.cue": `package polylab

cluster: apps: "test-echo": {
	namespace:   "test-echo"
	component:   "container"
	description: "an app a test adds"
	container: image: "docker.io/traefik/whoami:v1.11.0"
	workloads: [{name: "test-echo", selector: "app.kubernetes.io/name": "test-echo", ports: [{name: "http", port: 80}]}]
}
`}, picture: true},
		{name: "a purpose reworded", edits: map[string][2]string{flowsCUE: {declared, strings.Replace(declared, gone.Purpose, "reworded by a test", 1)}}},
	}
	for _, c := range changes {
		after, _ := build(t, edited(t, c.edits, c.added), "polylab")
		md := markdown(t, base, after)
		if has := strings.Contains(md, "#### Picture"); has != c.picture {
			t.Errorf("%s: the comment has a picture: %v, want %v:\n%s", c.name, has, c.picture, md)
		}
		add(c.name, md)
		if c.name != changes[0].name {
			continue
		}
		// The flow change: a small picture of just that change, which
		// make pictures draws from the golden file.
		section := md[strings.Index(md, "#### Picture"):strings.Index(md, "#### ⚠️")]
		got := "# The picture of a pull request\n\n" +
			"What `render -diff -format markdown` draws, in a pull request's comment, for a change to polylab's flows: " +
			"one flow replaced by its reverse. Written by `TestEveryMermaidBlock` (`UPDATE_GOLDEN=1 go test ./pkg/render/review`).\n\n" +
			strings.Replace(section, "#### Picture", "## A flow replaced by its reverse", 1)
		checkGolden(t, filepath.Join("testdata", "picture.polylab.md"), got)
		if d := blocks(section); len(d) != 1 || strings.Count(d[0], "-->")+strings.Count(d[0], "-.->") != 2 {
			t.Errorf("the picture of one flow replaced by another draws other than two arrows:\n%s", section)
		}
	}

	// Everything new: too large for a picture, and said so.
	md := markdown(t, review.Files{}, base)
	if at := strings.Index(md, "#### Picture\n\nToo large for a picture: "); at < 0 || strings.Contains(md[at:strings.Index(md, "#### Changes")], "```mermaid") {
		t.Errorf("a first render draws a picture, or does not say it is too large:\n%.2000s", md)
	}

	summaries, err := mermaid.Summarize(context.Background(), diagrams...)
	if err != nil {
		t.Fatalf("%v\nthe diagrams, in order: %s", err, strings.Join(where, "; "))
	}
	// A pull request's picture is small: at most 30 boxes and 40 arrows,
	// as Mermaid counts them (the READMEs' bounds are pkg/render/docs's).
	for i, s := range summaries {
		if !strings.Contains(where[i], "README") && (s.Nodes > 30 || s.Edges > 40) {
			t.Errorf("%s: %d boxes and %d arrows, more than a picture of a change should hold", where[i], s.Nodes, s.Edges)
		}
	}
}

func infrastructureApp(a *model.App) bool { return a.Layer == model.LayerInfrastructure }

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (UPDATE_GOLDEN=1 creates it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-golden +got); UPDATE_GOLDEN=1 rewrites it:\n%s", path, d)
	}
}
