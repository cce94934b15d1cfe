// Package scripttest holds what the commands' testscript suites share.
package scripttest

import (
	"io/fs"
	"os"
	"path/filepath"

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
