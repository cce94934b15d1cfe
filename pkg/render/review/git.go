package review

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/polylab/polylab-gitops/pkg/render/tree"
)

// GitFiles reads the generated files of dir as committed at ref, in the
// git repository of the current directory: what render had written there
// then. Files render did not generate (Flux's own gotk-components.yaml)
// are left out, as the writer leaves them alone. A dir missing at ref
// gives no files: everything rendered now is new.
func GitFiles(ref, dir string) (Files, error) {
	if _, err := git("rev-parse", "--verify", "--quiet", ref+"^{commit}"); err != nil {
		return nil, fmt.Errorf("-base %s: not a commit of the git repository here: %w", ref, err)
	}
	if filepath.IsAbs(dir) {
		cwd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		if dir, err = filepath.Rel(cwd, dir); err != nil {
			return nil, err
		}
	}
	dir = filepath.ToSlash(filepath.Clean(dir))
	// Without --full-name, paths are relative to the current directory,
	// as REF:./path reads them.
	out, err := git("ls-tree", "-r", "-z", "--name-only", ref, "--", dir)
	if err != nil {
		return nil, err
	}
	files := Files{}
	for _, name := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		rel, ok := strings.CutPrefix(name, dir+"/")
		if dir == "." {
			rel, ok = name, true
		}
		if name == "" || !ok {
			continue
		}
		spec := name
		if !strings.HasPrefix(spec, "../") {
			spec = "./" + spec
		}
		content, err := git("show", ref+":"+spec)
		if err != nil {
			return nil, err
		}
		if tree.Generated(content) {
			files[rel] = content
		}
	}
	return files, nil
}

// git runs a git command in the current directory and returns its output.
func git(args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
		}
		return nil, fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}
