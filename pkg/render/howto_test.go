package render_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// howToStep is where a code block of the README's "How to" goes: a file
// of the polylab cluster, and how the block is added to it.
type howToStep struct {
	section string
	file    string // under cue/clusters/polylab
	how     howToEdit
}

type howToEdit int

const (
	newFile    howToEdit = iota // the block is the file
	appendFile                  // the block goes at the end of the file
	appendList                  // the block is the last element of the list after anchor
	addField                    // the block is the last field of the struct after anchor
)

// howTo are the README's How-to code blocks in order, and where each goes;
// the README says the same in words, and TestHowTo checks it names the file.
var howTo = []struct {
	howToStep
	anchor string
}{
	{howToStep{"Add a node", "nodes.cue", appendList}, "cluster: nodes: ["},
	{howToStep{"Add an app", "versions.cue", addField}, "charts: {"},
	{howToStep{"Add an app", "grafana.cue", newFile}, ""},
	{howToStep{"Add an app", "flows.cue", appendList}, "cluster: flows: ["},
	{howToStep{"Add a flow", "flows.cue", appendList}, "cluster: flows: ["},
	{howToStep{"Add a secret", "grafana.cue", appendFile}, ""},
}

// TestHowTo follows the README's How-to in a copy of the repository, as an
// owner would: it takes each code block from the README as written, puts
// it where the README says, runs go run ./cmd/render, and then runs the
// suite's tests on the copy. A test that asserts polylab's literal facts
// instead of what its model says, or a README example that render refuses
// (or Renovate would miss), fails here.
func TestHowTo(t *testing.T) {
	if testing.Short() {
		t.Skip("copies the repository and runs the suite on it")
	}
	if os.Getenv("POLYLAB_HOWTO") != "" {
		t.Skip("this is the How-to's copy")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to run the suite with: %v", err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := howToBlocks(t, string(readme))
	if len(blocks) != len(howTo) {
		t.Fatalf("the README's How-to has %d code blocks, the test knows where %d go; tell it where the new ones go", len(blocks), len(howTo))
	}

	dir := t.TempDir()
	copyRepo(t, "../..", dir)
	cluster := filepath.Join(dir, "cue", "clusters", "polylab")
	for i, step := range howTo {
		b := blocks[i]
		if b.section != step.section {
			t.Fatalf("code block %d of the How-to is in section %q, the test expects %q", i, b.section, step.section)
		}
		if !strings.Contains(b.prose, step.file) {
			t.Errorf("section %q does not name %s before its code block %d", b.section, step.file, i)
		}
		file := filepath.Join(cluster, step.file)
		old, err := os.ReadFile(file)
		if err != nil && step.how != newFile {
			t.Fatal(err)
		}
		var edited string
		switch step.how {
		case newFile:
			edited = b.code
		case appendFile:
			edited = string(old) + "\n" + b.code
		case appendList, addField:
			edited = insertLast(t, string(old), step.anchor, b.code)
		}
		if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(goTool, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "POLYLAB_HOWTO=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s in the How-to's copy: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	rendered := run("run", "./cmd/render")
	if !regexp.MustCompile(`^render: clusters/polylab: \d+ written, \d+ unchanged, 0 removed in `).MatchString(rendered) {
		t.Errorf("the render says:\n%s", rendered)
	}
	for _, want := range []string{
		"clusters/polylab/hosts/polynode-4/nftables.nft",
		"clusters/polylab/apps/grafana/helmrelease-grafana.yaml",
		"clusters/polylab/apps/grafana/service-grafana-lb.yaml",
		"clusters/polylab/infrastructure/network-policies-monitoring/networkpolicy-allow-grafana.yaml",
	} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("the How-to renders no %s", want)
		}
	}
	if secrets, _ := os.ReadFile(filepath.Join(dir, "clusters/polylab/infrastructure/secrets/README.md")); !regexp.MustCompile("(?m)^\\| monitoring \\| grafana-admin \\| `admin-user`.*`admin-password` \\| grafana \\|$").Match(secrets) {
		t.Errorf("the secrets README does not ask for Grafana's admin Secret:\n%s", secrets)
	}
	run("run", "./cmd/render", "-check")
	// The suite, but for the golden files of the model before the How-to.
	run("test", "./pkg/...", "./cmd/...", "./bootstrap/...")
}

// howToBlock is a code block of the README's How-to, its section, and the
// prose before it in that section.
type howToBlock struct {
	section, prose, code string
}

// howToBlocks reads the code blocks of the README's "## How to" section.
func howToBlocks(t *testing.T, readme string) []howToBlock {
	t.Helper()
	_, rest, ok := strings.Cut(readme, "\n## How to\n")
	if !ok {
		t.Fatal("the README has no ## How to section")
	}
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	var out []howToBlock
	var section, prose string
	lines := strings.Split(rest, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case strings.HasPrefix(line, "### "):
			section, prose = strings.TrimPrefix(line, "### "), ""
		case strings.HasPrefix(line, "```cue"):
			var code []string
			for i++; i < len(lines) && lines[i] != "```"; i++ {
				code = append(code, lines[i])
			}
			out = append(out, howToBlock{section, prose, strings.Join(code, "\n") + "\n"})
			prose = ""
		default:
			prose += line + "\n"
		}
	}
	return out
}

// insertLast puts code as the last element of the list, or the last field
// of the struct, that opens at the end of anchor, on a line of its own.
func insertLast(t *testing.T, file, anchor, code string) string {
	t.Helper()
	start := strings.Index(file, anchor)
	if start < 0 {
		t.Fatalf("no %q to add to", anchor)
	}
	end := closing(file, start+len(anchor)-1)
	if end < 0 {
		t.Fatalf("%q does not close", anchor)
	}
	before := strings.TrimRight(file[:end], " \t\n")
	if open := file[start+len(anchor)-1]; open == '[' && !strings.HasSuffix(before, ",") && !strings.HasSuffix(before, "[") {
		before += ","
	}
	return before + "\n" + strings.TrimRight(code, "\n") + "\n" + file[end:]
}

// closing is the index of the bracket that closes the one at open,
// skipping strings and comments.
func closing(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case c == '/' && strings.HasPrefix(s[i:], "//"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

// copyRepo copies what the module's tests read: every file but the git
// folder, the e2e module and the function; the Mermaid checker's Node.js
// packages are linked, not copied.
func copyRepo(t *testing.T, from, to string) {
	t.Helper()
	skip := map[string]bool{".git": true, "e2e": true, "functions": true}
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			switch {
			case skip[d.Name()] && rel != ".":
				return filepath.SkipDir
			case d.Name() == "node_modules":
				abs, err := filepath.Abs(p)
				if err != nil {
					return err
				}
				if err := os.Symlink(abs, filepath.Join(to, rel)); err != nil {
					return err
				}
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}
