package gitserver_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polylab/polylab-gitops/e2e/gitserver"
)

// TestPushAndClone pushes two revisions over HTTP and clones them back.
func TestPushAndClone(t *testing.T) {
	s := gitserver.Start(t)
	repo := s.NewRepo("demo")
	if want := s.URL() + "/demo.git"; repo.URL() != want {
		t.Fatalf("URL() = %q, want %q", repo.URL(), want)
	}

	tree := t.TempDir()
	write(t, filepath.Join(tree, "a", "one.txt"), "one")
	first := repo.Push(tree, "first")

	if err := os.Remove(filepath.Join(tree, "a", "one.txt")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(tree, "b.txt"), "two")
	second := repo.Push(tree, "second")
	if first == second || len(second) != 40 {
		t.Fatalf("commits %q then %q: want two distinct SHAs", first, second)
	}

	clone := filepath.Join(t.TempDir(), "clone")
	out, err := exec.Command("git", "clone", "--quiet", "--branch", gitserver.Branch, repo.URL(), clone).CombinedOutput()
	if err != nil {
		t.Fatalf("git clone: %v: %s", err, out)
	}
	head, err := exec.Command("git", "-C", clone, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(head)); got != second {
		t.Errorf("cloned HEAD = %s, want %s", got, second)
	}
	if _, err := os.Stat(filepath.Join(clone, "a", "one.txt")); !os.IsNotExist(err) {
		t.Errorf("a/one.txt should be gone from the second revision (err = %v)", err)
	}
	if b, err := os.ReadFile(filepath.Join(clone, "b.txt")); err != nil || string(b) != "two" {
		t.Errorf("b.txt = %q, %v; want %q", b, err, "two")
	}
	if got, want := repo.Revision(second), "main@sha1:"+second; got != want {
		t.Errorf("Revision = %q, want %q", got, want)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
