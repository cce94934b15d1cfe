// Package render turns a cluster described in CUE into the git folder Flux
// syncs. The pipeline reads in stages, each in its own place:
//
//	Load:    CUE module -> validated *model.Cluster     (load.go, problems.go)
//	Render:  model -> components -> in-memory tree     (render.go, component/)
//	Verify:  the tree builds, decodes and cross-checks (verify/)
//	Write:   tree -> disk, atomically, pruning stale    (tree/)
//
// Nothing touches the disk before the whole tree is rendered and verified.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/load"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// Source is where a CUE module comes from.
type Source struct {
	// FS holds the module, rooted at the folder that contains cue.mod.
	FS fs.FS
	// Display is how the module root is named in messages, such as "cue".
	Display string
}

// DirSource is the CUE module in a folder on disk.
func DirSource(dir string) Source {
	return Source{FS: os.DirFS(dir), Display: filepath.Clean(dir)}
}

// clusterSelector is where a cluster package keeps its cluster value.
const clusterSelector = "cluster"

// Load reads the cluster package ./clusters/<name> of the module, checks
// that it is complete and consistent, and decodes it into the model.
//
// An invalid model is reported as Problems, each with the path of the
// offending value, what is wrong, and where it is written.
func Load(src Source, name string) (*model.Cluster, error) {
	pkgDir := "clusters/" + name
	if _, err := fs.Stat(src.FS, pkgDir); err != nil {
		return nil, fmt.Errorf("no cluster %q: %s has no folder %s", name, src.Display, pkgDir)
	}
	cfg := &load.Config{
		FS: src.FS,
		// Positions name files as the user sees them, e.g. cue/clusters/polylab/nodes.cue.
		FromFSPath: func(p string) string { return path.Join(filepath.ToSlash(src.Display), p) },
	}
	insts := load.Instances([]string{"./" + pkgDir}, cfg)
	if err := insts[0].Err; err != nil {
		return nil, problemsFromCUE(err)
	}
	pkg := cuecontext.New().BuildInstance(insts[0])
	if err := pkg.Err(); err != nil {
		// Err holds the first error only; validating collects them all.
		if all := pkg.Validate(cue.Concrete(true)); all != nil {
			err = all
		}
		return nil, problemsFromCUE(err)
	}
	value := pkg.LookupPath(cue.ParsePath(clusterSelector))
	// Only schema.#Cluster fills in defaults such as domain: without them the
	// value was not built from the schema, and its checks would not hold.
	if !value.Exists() || value.IncompleteKind() != cue.StructKind || !value.LookupPath(cue.ParsePath("domain")).Exists() {
		return nil, Problems{{Message: fmt.Sprintf("package %s must declare %s: schema.#Cluster & {...}, importing %q", pkgDir, clusterSelector, "polylab.dev/gitops/schema")}}
	}
	// Concrete: a required field left out or a value left open is an error too.
	if err := value.Validate(cue.Concrete(true)); err != nil {
		return nil, problemsFromCUE(err)
	}
	cluster, err := decodeStrict(value)
	if err != nil {
		return nil, err
	}
	if issues := model.Validate(cluster); len(issues) > 0 {
		return nil, problemsFromIssues(value, issues)
	}
	return cluster, nil
}

// decodeStrict decodes through JSON and refuses fields the Go model does not
// know: cue.Value.Decode would drop them silently.
func decodeStrict(v cue.Value) (*model.Cluster, error) {
	b, err := v.MarshalJSON()
	if err != nil {
		return nil, problemsFromCUE(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c model.Cluster
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("the schema and the Go model disagree (update pkg/render/model with cue/schema): %w", err)
	}
	return &c, nil
}
