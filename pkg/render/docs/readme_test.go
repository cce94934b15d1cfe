package docs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	cuemodule "github.com/polylab/polylab-gitops/cue"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/docs"
)

// update rewrites the golden files: UPDATE_GOLDEN=1 go test ./pkg/render/docs
var update = os.Getenv("UPDATE_GOLDEN") != ""

// TestREADME compares the README of each cluster of the CUE module with
// its golden file, testdata/README.<cluster>.md.
func TestREADME(t *testing.T) {
	for _, cluster := range []string{"example", "polylab"} {
		t.Run(cluster, func(t *testing.T) {
			c, err := render.Load(render.Source{FS: cuemodule.FS, Display: "cue"}, cluster)
			if err != nil {
				var b bytes.Buffer
				render.PrintError(&b, err, "")
				t.Fatalf("load %s:\n%s", cluster, b.String())
			}
			got := docs.README(c)
			golden := filepath.Join("testdata", "README."+cluster+".md")
			if update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (UPDATE_GOLDEN=1 creates it)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("%s differs (-golden +got); UPDATE_GOLDEN=1 rewrites it:\n%s", golden, d)
			}
			if !bytes.Equal(docs.README(c), got) {
				t.Error("two READMEs of the same model differ")
			}
			for _, section := range []string{"## Nodes", "## Network", "## LoadBalancer IPs", "## Ports", "## Flows",
				"| namespace | default deny | apps |", "| from | to | port | pod port | purpose | allowed by |",
				"Namespace `kube-system` has none", "Namespace `flux-system` gets no policy of ours",
				"## Overview\n", "```mermaid\n%%{init:", "flowchart LR\n", "flowchart TB\n", "### Namespace "} {
				if !strings.Contains(string(got), section) {
					t.Errorf("the README lacks %q", section)
				}
			}
		})
	}
}
