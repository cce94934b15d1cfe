package docs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	cuemodule "github.com/polylab/polylab-gitops/cue"
	"github.com/polylab/polylab-gitops/internal/mermaid"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/docs"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// The bounds a person can read, whatever the cluster: the overview on one
// screen, a namespace's detail on about one more. They are the test's own,
// not the generator's: the generator folds to stay within its budget, and
// this test says the budget holds, counted by Mermaid's parser. Polylab's
// overview holds 12 boxes and 13 arrows, so about five more apps with two
// flows each still get a box of their own; past that the apps fold into a
// box per namespace, which TestOverviewScales shows up to hundreds of apps.
const (
	maxOverviewBoxes    = 20
	maxOverviewArrows   = 30
	maxNamespaceBoxes   = 25
	maxNamespaceArrows  = 40
	maxNodeDiagramBoxes = 25
)

// diagram is one ```mermaid block of a Markdown file and the heading above it.
type diagram struct {
	file, heading, text string
	line                int
}

var fence = regexp.MustCompile("(?m)^```mermaid\n")

// mermaidBlocks extracts every ```mermaid block of a Markdown text.
func mermaidBlocks(file string, md []byte) []diagram {
	var out []diagram
	text := string(md)
	for _, at := range fence.FindAllStringIndex(text, -1) {
		body := text[at[1]:]
		end := strings.Index(body, "\n```\n")
		if end < 0 {
			out = append(out, diagram{file: file, text: body, line: strings.Count(text[:at[0]], "\n") + 1})
			continue
		}
		heading := ""
		for _, l := range strings.Split(text[:at[0]], "\n") {
			if strings.HasPrefix(l, "#") {
				heading = strings.TrimLeft(l, "# ")
			}
		}
		out = append(out, diagram{file: file, heading: heading, text: body[:end+1], line: strings.Count(text[:at[0]], "\n") + 1})
	}
	return out
}

// clusters are the clusters of the CUE module: cue/clusters/*.
func clusters(t *testing.T) []string {
	entries, err := fs.ReadDir(cuemodule.FS, "clusters")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	if len(out) < 2 {
		t.Fatalf("the CUE module has clusters %v; expected polylab and example at least", out)
	}
	return out
}

func load(t testing.TB, cluster string) *model.Model {
	t.Helper()
	m, err := render.Load(render.Source{FS: cuemodule.FS, Display: "cue"}, cluster)
	if err != nil {
		var b bytes.Buffer
		render.PrintError(&b, err, "")
		t.Fatalf("load %s:\n%s", cluster, b.String())
	}
	return m
}

// TestREADMEDiagrams generates the README of every cluster of the CUE
// module, parses each of its Mermaid diagrams with Mermaid's own parser,
// and bounds each by what Mermaid counts in it.
func TestREADMEDiagrams(t *testing.T) {
	var all []diagram
	for _, cluster := range clusters(t) {
		blocks := mermaidBlocks(cluster+"/README.md", docs.README(load(t, cluster)))
		var headings []string
		for _, d := range blocks {
			headings = append(headings, d.heading)
		}
		if len(blocks) < 3 || blocks[0].heading != "Overview" || blocks[1].heading != "Nodes" || !strings.HasPrefix(blocks[2].heading, "Namespace ") {
			t.Errorf("%s: the README's diagrams are under %q; want the overview, the nodes, then the namespaces", cluster, headings)
		}
		all = append(all, blocks...)
	}
	for i, s := range checkDiagrams(t, all) {
		d := all[i]
		t.Logf("%s:%d %s: %d boxes, %d arrows, %d subgraphs", d.file, d.line, d.heading, s.Nodes, s.Edges, s.Subgraphs)
	}
}

// checkDiagrams parses the diagrams with Mermaid and checks each against
// its bound; it returns what Mermaid counted in each.
func checkDiagrams(t *testing.T, diagrams []diagram) []mermaid.Summary {
	t.Helper()
	texts := make([]string, len(diagrams))
	for i, d := range diagrams {
		texts[i] = d.text
	}
	summaries, err := mermaid.Summarize(context.Background(), texts...)
	if err != nil {
		for i, d := range diagrams {
			err = fmt.Errorf("%w\n(diagram %d: %s:%d, %q)", err, i+1, d.file, d.line, d.heading)
		}
		t.Fatal(err)
	}
	for i, d := range diagrams {
		s := summaries[i]
		boxes, arrows := -1, -1
		switch {
		case d.heading == "Overview":
			boxes, arrows = maxOverviewBoxes, maxOverviewArrows
		case strings.HasPrefix(d.heading, "Namespace "):
			boxes, arrows = maxNamespaceBoxes, maxNamespaceArrows
		case d.heading == "Nodes":
			boxes, arrows = maxNodeDiagramBoxes, maxNodeDiagramBoxes
		}
		if s.Type != "flowchart" {
			t.Errorf("%s:%d (%s) is a %s, not a flowchart", d.file, d.line, d.heading, s.Type)
		}
		if boxes >= 0 && (s.Nodes > boxes || s.Edges > arrows) {
			t.Errorf("%s:%d (%s): %d boxes and %d arrows, over the %d and %d a person reads on one screen:\n%s",
				d.file, d.line, d.heading, s.Nodes, s.Edges, boxes, arrows, d.text)
		}
	}
	return summaries
}

// grow returns polylab with n more apps of the apps layer, five to a
// namespace, each sending to the next of its namespace and to the first
// app that polylab's flows reach from another app's, as a growing
// homelab's would.
func grow(t testing.TB, m *model.Model, n int) *model.Model {
	t.Helper()
	b, err := json.Marshal(m.Cluster)
	if err != nil {
		t.Fatal(err)
	}
	var c model.Cluster
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	var store model.Link
	for _, l := range m.Links {
		if l.From.External == nil && l.From.App != l.To.App && l.From.App.Layer == model.LayerApps && l.To.App.Layer == model.LayerApps {
			store = l
			break
		}
	}
	for i := range n {
		name := fmt.Sprintf("grown-%d", i)
		c.AppsByName[name] = model.App{
			Name: name, Namespace: fmt.Sprintf("grown-ns-%d", i/5), Component: "container", Layer: model.LayerApps,
			Description: "an app added by the test",
			Container:   &model.Container{Image: "docker.io/library/nginx:1.27", Replicas: 1},
			Workloads: []model.Workload{{Name: name, Selector: map[string]string{"app.kubernetes.io/name": name},
				Ports: []model.Port{{Name: "http", Port: 80, TargetPort: 80, Protocol: "TCP"}}}},
		}
		c.Flows = append(c.Flows, model.Flow{From: name, To: store.Flow.To, Port: store.Flow.Port, Purpose: "stores its data"})
		if i%5 != 4 && i+1 < n {
			c.Flows = append(c.Flows, model.Flow{From: name, To: fmt.Sprintf("grown-%d", i+1), Port: model.FlowPort{Name: "http"}, Purpose: "asks the next"})
		}
	}
	grown, err := model.Validate(&c)
	if err != nil {
		t.Fatalf("polylab with %d more apps: %v", n, err)
	}
	return grown
}

// TestOverviewScales adds apps to polylab: a few more keep a box each,
// more fold into a box per namespace, and the overview stays within its
// bounds however many there are.
func TestOverviewScales(t *testing.T) {
	polylab := load(t, "polylab")
	var diagrams []diagram
	for _, n := range []int{0, 3, 5, 20, 60, 300} {
		m := grow(t, polylab, n)
		readme := docs.README(m)
		blocks := mermaidBlocks(fmt.Sprintf("polylab+%d", n), readme)
		if blocks[0].heading != "Overview" {
			t.Fatalf("polylab+%d: the first diagram is %q", n, blocks[0].heading)
		}
		perApp := strings.Contains(string(readme), "each box is an app, grouped by namespace")
		if n <= 5 && !perApp {
			t.Errorf("polylab with %d more apps folds its overview; a few more apps should keep a box each:\n%s", n, blocks[0].text)
		}
		if n >= 20 && perApp {
			t.Errorf("polylab with %d more apps draws a box per app", n)
		}
		for _, name := range []string{"grown-0", "grown-ns-0"} {
			if n >= 5 && !strings.Contains(blocks[0].text, name) {
				t.Errorf("polylab+%d: the overview does not name %s", n, name)
			}
		}
		diagrams = append(diagrams, blocks...)
	}
	checkDiagrams(t, diagrams)
}
