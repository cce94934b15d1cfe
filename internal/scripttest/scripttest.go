// Package scripttest holds what the commands' testscript suites share.
package scripttest

import (
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"

	cuemodule "github.com/polylab/polylab-gitops/cue"
)

// CUEModule writes the repository's CUE module without its clusters
// (cue.mod and schema) into dir/cue, so that a script holds only the
// cluster it is about.
func CUEModule(dir string) error {
	for _, sub := range []string{"cue.mod", "schema"} {
		part, err := fs.Sub(cuemodule.FS, sub)
		if err != nil {
			return err
		}
		if err := os.CopyFS(filepath.Join(dir, "cue", sub), part); err != nil {
			return err
		}
	}
	return nil
}

// Params are what the commands' suites run with: the scripts in
// testdata/script, each command named by exec, script names unique,
// UPDATE_SCRIPTS=1 rewriting the expected output in place (review the
// diff before committing it), and every script starting in a folder
// holding CUEModule, then setup's, if any.
func Params(setup func(*testscript.Env) error) testscript.Params {
	return testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") != "",
		Setup: func(env *testscript.Env) error {
			if err := CUEModule(env.WorkDir); err != nil {
				return err
			}
			if setup != nil {
				return setup(env)
			}
			return nil
		},
	}
}
