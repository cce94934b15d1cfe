package ci

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
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

// usesLine is a step's action reference: owner/repo[/path]@ref, then an
// optional comment.
var usesLine = regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*([^@\s]+)@(\S+)\s*(?:#\s*(\S+))?`)

// pinnedRef is a full commit: a tag can be moved to other code after the
// review, a commit cannot.
var pinnedRef = regexp.MustCompile(`^[0-9a-f]{40}$`)

// release is the version a pin's comment names.
var release = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`)

// TestWorkflowsPinActions checks that every action a workflow uses is
// pinned to a full commit with the release it is beside it (# vX.Y.Z), so
// Renovate can bump it and a reviewer can read it, and that one action is
// pinned to one commit across the workflows.
func TestWorkflowsPinActions(t *testing.T) {
	workflows, err := filepath.Glob(filepath.Join("..", "..", ".github", "workflows", "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	pins := map[string]string{}
	for _, path := range workflows {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			m := usesLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			at := fmt.Sprintf("%s:%d", filepath.Base(path), i+1)
			action, ref, version := m[1], m[2], m[3]
			if strings.HasPrefix(action, "./") || strings.HasPrefix(action, "docker://") {
				continue
			}
			if !pinnedRef.MatchString(ref) || !release.MatchString(version) {
				t.Errorf("%s: %s: pin the action to the release's full commit, with the release beside it: uses: %s@<40-hex commit> # vX.Y.Z", at, strings.TrimSpace(line), action)
				continue
			}
			pin := ref + " # " + version
			if other, ok := pins[action]; ok && other != pin {
				t.Errorf("%s: %s is pinned to %s here and to %s elsewhere: use one release", at, action, pin, other)
			}
			pins[action] = pin
		}
	}
	if len(pins) == 0 {
		t.Fatal("no action found in the workflows")
	}
}
