// Package modeltest gives tests of the renderer's packages what they share:
// a private copy of the polylab model to change, its validation, and the
// model's problems as text. Tests assert properties of whatever model they
// load, so an owner's own polylab keeps them meaningful.
package modeltest

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	cuemodule "github.com/polylab/polylab-gitops/cue"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// The polylab model, loaded once and kept as JSON, so that each test gets
// a deep copy it may change freely.
var (
	once    sync.Once
	encoded []byte
	loadErr error
)

// Cluster returns a private copy of the polylab cluster.
func Cluster(t testing.TB) *model.Cluster {
	t.Helper()
	once.Do(func() {
		m, err := render.Load(render.Source{FS: cuemodule.FS, Display: "cue"}, "polylab")
		if err != nil {
			loadErr = err
			return
		}
		encoded, loadErr = json.Marshal(m.Cluster)
	})
	if loadErr != nil {
		t.Fatalf("loading the polylab model: %v", loadErr)
	}
	var c model.Cluster
	if err := json.Unmarshal(encoded, &c); err != nil {
		t.Fatalf("copying the model: %v", err)
	}
	return &c
}

// Model validates the cluster as the renderer does; every change a test
// makes to render must leave a valid model.
func Model(t testing.TB, c *model.Cluster) *model.Model {
	t.Helper()
	m, err := model.Validate(c)
	if err != nil {
		t.Fatalf("the changed model is not valid:\n%s", ProblemLines(err))
	}
	return m
}

// EditApp changes an app of the cluster in place.
func EditApp(c *model.Cluster, name string, edit func(app *model.App)) {
	app := c.AppsByName[name]
	edit(&app)
	c.AppsByName[name] = app
}

// Problems are the problems err holds.
func Problems(err error) model.Problems {
	var ps model.Problems
	ps.Add(nil, err)
	return ps
}

// ProblemLines writes every problem of err, one a line: path: message.
func ProblemLines(err error) string {
	var lines []string
	for _, p := range Problems(err) {
		lines = append(lines, p.Error())
	}
	return strings.Join(lines, "\n")
}

// WantProblem fails unless err holds a problem of the value at path (any,
// if path is empty) whose message mentions each of wantIn.
func WantProblem(t testing.TB, err error, path string, wantIn ...string) {
	t.Helper()
	for _, p := range Problems(err) {
		// CUE quotes the selectors that are not identifiers (apps."kube-vip").
		if path != "" && strings.ReplaceAll(p.Value.String(), `"`, "") != path {
			continue
		}
		found := true
		for _, w := range wantIn {
			found = found && strings.Contains(p.Message, w)
		}
		if found {
			return
		}
	}
	t.Errorf("problems:\n%s\nwant one of %s mentioning %q", ProblemLines(err), path, wantIn)
}

// Selects reports whether a selector matches the labels.
func Selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
