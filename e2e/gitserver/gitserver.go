// Package gitserver serves git repositories over smart HTTP on loopback, for
// Flux's source-controller to pull from in tests.
//
// It runs git's own git-http-backend as a CGI program (net/http/cgi), so the
// wire protocol is the real one; every repository is a bare repository that
// accepts pushes. A Repo keeps a working clone through which a test commits a
// folder's content and pushes it as a new revision.
package gitserver

import (
	"bytes"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Branch is the branch every repository is created with and pushed to.
const Branch = "main"

// Server is a git smart-HTTP server on 127.0.0.1, stopped when the test ends.
type Server struct {
	t    testing.TB
	root string // GIT_PROJECT_ROOT: holds <name>.git bare repositories
	srv  *httptest.Server

	stderr syncBuffer // git-http-backend's standard error
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (one per request).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Start starts a git server on a free loopback port; it is closed by
// t.Cleanup. It fails the test if git or git-http-backend is missing.
func Start(t testing.TB) *Server {
	t.Helper()
	execPath, err := git("", "--exec-path")
	if err != nil {
		t.Fatalf("gitserver: git is needed: %v", err)
	}
	backend := filepath.Join(strings.TrimSpace(execPath), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Fatalf("gitserver: git-http-backend not found: %v", err)
	}
	s := &Server{t: t, root: t.TempDir()}
	s.srv = httptest.NewServer(&cgi.Handler{
		Path:   backend,
		Root:   "/",
		Stderr: &s.stderr,
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
		},
	})
	t.Cleanup(func() {
		s.srv.Close()
		if log := s.Log(); t.Failed() && log != "" {
			t.Logf("gitserver: git-http-backend's error output:\n%s", log)
		}
	})
	return s
}

// Log returns what git-http-backend wrote to its standard error so far
// (a failed test prints it).
func (s *Server) Log() string { return s.stderr.String() }

// URL returns the server's base URL, http://127.0.0.1:PORT.
func (s *Server) URL() string { return s.srv.URL }

// NewRepo creates an empty bare repository <name>.git that accepts pushes.
// Its default branch is Branch.
func (s *Server) NewRepo(name string) *Repo {
	s.t.Helper()
	bare := filepath.Join(s.root, name+".git")
	if _, err := os.Stat(bare); err == nil {
		s.t.Fatalf("gitserver: repository %s already exists", name)
	}
	for _, args := range [][]string{
		{"init", "--quiet", "--bare", "--initial-branch=" + Branch, bare},
		{"-C", bare, "config", "http.receivepack", "true"},
	} {
		if _, err := git(s.root, args...); err != nil {
			s.t.Fatalf("gitserver: creating repository %s: %v", name, err)
		}
	}
	return &Repo{t: s.t, name: name, url: s.srv.URL + "/" + name + ".git", bare: bare}
}
