package main

import (
	"os"
	"testing"

	"github.com/polylab/polylab-gitops/internal/scripttest"
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
			if err := scripttest.CUEModule(env.WorkDir); err != nil {
				return err
			}
			return nil
		},
	})
}
