package gitserver

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Repo is a bare repository on a Server, with a working clone used to push
// new revisions to it. Its methods are not safe for concurrent use.
type Repo struct {
	t    testing.TB
	name string
	url  string
	bare string
	work string // working clone, made on the first Push
}

// URL returns the repository's clone URL, http://127.0.0.1:PORT/<name>.git,
// fit for a Flux GitRepository's spec.url.
func (r *Repo) URL() string { return r.url }

// Revision returns the revision string Flux reports for commit sha of
// Branch (status.artifact.revision, lastAppliedRevision): "main@sha1:<sha>".
func (r *Repo) Revision(sha string) string { return Branch + "@sha1:" + sha }

// Push makes the branch's tree exactly the content of dir (files absent from
// dir are removed; dir's own .git folders are ignored), commits it with
// message, pushes it over HTTP and returns the new commit's SHA. A push of an
// unchanged tree still makes a new, empty commit. It fails the test on error.
func (r *Repo) Push(dir, message string) string {
	r.t.Helper()
	sha, err := r.push(dir, message)
	if err != nil {
		r.t.Fatalf("gitserver: pushing %s to %s: %v", dir, r.name, err)
	}
	return sha
}

func (r *Repo) push(dir, message string) (string, error) {
	if r.work == "" {
		work := r.t.TempDir()
		if _, err := git(work, "init", "--quiet", "--initial-branch="+Branch); err != nil {
			return "", err
		}
		if _, err := git(work, "remote", "add", "origin", r.url); err != nil {
			return "", err
		}
		r.work = work
	}
	if err := clearWorkTree(r.work); err != nil {
		return "", err
	}
	if err := CopyTree(dir, r.work); err != nil {
		return "", err
	}
	for _, args := range [][]string{
		{"add", "--all"},
		{"commit", "--quiet", "--allow-empty", "--message", message},
		{"push", "--quiet", "origin", "HEAD:refs/heads/" + Branch},
	} {
		if _, err := git(r.work, args...); err != nil {
			return "", err
		}
	}
	out, err := git(r.work, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// clearWorkTree removes everything in dir except .git.
func clearWorkTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == ".git" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// CopyTree copies the regular files and folders under src into dst (made if
// missing), skipping .git folders; use it to assemble a tree to Push from
// several places. Symbolic links are refused: a GitOps tree should not need
// them.
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && d.Name() == ".git":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(path, target)
		default:
			return fmt.Errorf("%s: only regular files and folders can be pushed", path)
		}
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
