package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"render": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScript runs the txtar scripts in testdata/script: each shows a
// user's command and its exact output. UPDATE_SCRIPTS=1 rewrites the
// expected output in place; review the diff before committing it.
//
// Every script starts in a folder holding cue/cue.mod and cue/schema from
// this repository, so a script only adds the cluster it is about.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") != "",
		Setup: func(env *testscript.Env) error {
			for _, dir := range []string{"cue.mod", "schema"} {
				if err := copyDir(filepath.Join("..", "..", "cue", dir), filepath.Join(env.WorkDir, "cue", dir)); err != nil {
					return err
				}
			}
			return nil
		},
	})
}

func copyDir(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
}
