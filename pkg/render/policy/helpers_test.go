package policy_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	cuemodule "github.com/polylab/polylab-gitops/cue"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// The helpers this package shares in spirit with component_test's.

// The real polylab model, loaded once and kept as JSON, so that each test
// gets a deep copy it may change freely.
var (
	modelOnce sync.Once
	modelJSON []byte
	modelErr  error
)

// testCluster returns a private copy of the polylab cluster.
func testCluster(t *testing.T) *model.Cluster {
	t.Helper()
	modelOnce.Do(func() {
		m, err := render.Load(render.Source{FS: cuemodule.FS, Display: "cue"}, "polylab")
		if err != nil {
			modelErr = err
			return
		}
		modelJSON, modelErr = json.Marshal(m.Cluster)
	})
	if modelErr != nil {
		t.Fatalf("loading the polylab model: %v", modelErr)
	}
	var c model.Cluster
	if err := json.Unmarshal(modelJSON, &c); err != nil {
		t.Fatalf("copying the model: %v", err)
	}
	return &c
}

// testModel validates the cluster; every change a test makes to render
// must leave a valid model.
func testModel(t *testing.T, c *model.Cluster) *model.Model {
	t.Helper()
	m, err := model.Validate(c)
	if err != nil {
		t.Fatalf("the model is not valid:\n%s", problemLines(err))
	}
	return m
}

// editApp changes an app of the cluster in place.
func editApp(c *model.Cluster, name string, edit func(app *model.App)) {
	app := c.AppsByName[name]
	edit(&app)
	c.AppsByName[name] = app
}

// problemLines writes every problem of err, one a line: path: message.
func problemLines(err error) string {
	var ps model.Problems
	ps.Add(nil, err)
	var lines []string
	for _, p := range ps {
		lines = append(lines, p.Error())
	}
	return strings.Join(lines, "\n")
}

// selects reports whether a selector matches the labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// wantProblem fails unless err holds a problem of the value at path (any,
// if path is empty) whose message mentions want.
func wantProblem(t *testing.T, err error, path, want string) {
	t.Helper()
	var ps model.Problems
	ps.Add(nil, err)
	for _, p := range ps {
		if (path == "" || p.Value.String() == path) && strings.Contains(p.Message, want) {
			return
		}
	}
	t.Errorf("problems:\n%s\nwant one of %s mentioning %q", problemLines(err), path, want)
}
