package ci

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestWorkflowsLint runs actionlint, pinned by go.mod's tool directive, on
// every workflow: syntax, expressions, action inputs, permissions and,
// when shellcheck is on PATH, the run: scripts. Any finding fails.
func TestWorkflowsLint(t *testing.T) {
	workflows, err := filepath.Glob(filepath.Join("..", "..", ".github", "workflows", "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(workflows) == 0 {
		t.Fatal("no workflow found in .github/workflows")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH to run go tool actionlint")
	}
	cmd := exec.Command(goTool, append([]string{"tool", "actionlint", "-no-color"}, workflows...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("actionlint: %v\n%s", err, out)
	}
}
