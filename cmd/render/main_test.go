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
// user's command and its exact output. Every script starts with the
// repository's cue/cue.mod and cue/schema, so it only adds the cluster it
// is about (scripttest.Params).
func TestScript(t *testing.T) {
	testscript.Run(t, scripttest.Params(nil))
}
