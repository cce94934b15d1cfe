// Package render turns a cluster described in CUE into the git folder Flux
// syncs. The pipeline reads in stages, each in its own place, and data
// flows one way:
//
//	Load:     CUE module -> *model.Model: decoded, validated, indexed   (load.go, model/)
//	Render:   model -> units: one per component and namespace policy   (component/, policy/)
//	          units -> Kustomize folders and Flux Kustomizations       (render.go, deps.go, flux/)
//	Verify:   the tree builds, decodes strictly and cross-checks       (verify/)
//	Document: the cluster README, the per-node bootstrap inputs        (docs/, host/)
//	Write:    tree -> disk, atomically, pruning only what it wrote     (tree/)
//
// Every stage reports what is wrong as model.Problems, each naming the
// value that causes it; Load fills in where each is written, and
// PrintError prints them all with CUE's printer. Nothing touches the disk
// before the whole tree is rendered and verified.
package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/token"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// Source is where a CUE module comes from.
type Source struct {
	// FS holds the module, rooted at the folder that contains cue.mod.
	FS fs.FS
	// Display is how the module root is named in messages, such as "cue".
	Display string
	// Root, when set, is the module's folder on disk: positions then name
	// files by their absolute path, which the printer makes relative to
	// the working directory.
	Root string
}

// DirSource is the CUE module in a folder on disk.
func DirSource(dir string) Source {
	root, err := filepath.Abs(dir)
	if err != nil {
		root = ""
	}
	return Source{FS: os.DirFS(dir), Display: filepath.Clean(dir), Root: root}
}

// clusterSelector is where a cluster package keeps its cluster value.
const clusterSelector = "cluster"

// Load reads the cluster package ./clusters/<name> of the module, checks
// that it is complete and consistent, and returns its Model, which knows
// where each value is written.
//
// An invalid model is reported as model.Problems, each with the path of
// the offending value, what is wrong, and where it is written.
func Load(src Source, name string) (*model.Model, error) {
	pkgDir := "clusters/" + name
	if _, err := fs.Stat(src.FS, pkgDir); err != nil {
		return nil, fmt.Errorf("no cluster %q: %s has no folder %s", name, src.Display, pkgDir)
	}
	display := filepath.ToSlash(src.Display)
	if src.Root != "" {
		display = src.Root
	}
	cfg := &load.Config{
		FS: src.FS,
		// Positions name files as the user sees them, e.g. cue/clusters/polylab/nodes.cue.
		FromFSPath: func(p string) string { return filepath.Join(display, filepath.FromSlash(p)) },
	}
	insts := load.Instances([]string{"./" + pkgDir}, cfg)
	if err := insts[0].Err; err != nil {
		return nil, problemsFromCUE(cue.Value{}, err)
	}
	pkg := cuecontext.New().BuildInstance(insts[0])
	if err := pkg.Err(); err != nil {
		// Err holds the first error only; validating collects them all.
		if all := pkg.Validate(cue.Concrete(true)); all != nil {
			err = all
		}
		return nil, problemsFromCUE(pkg, err)
	}
	value := pkg.LookupPath(cue.ParsePath(clusterSelector))
	// Only schema.#Cluster fills in defaults such as domain: without them the
	// value was not built from the schema, and its checks would not hold.
	if !value.Exists() || value.IncompleteKind() != cue.StructKind || !value.LookupPath(cue.ParsePath("domain")).Exists() {
		return nil, model.Problems{{Message: fmt.Sprintf("package %s must declare %s: schema.#Cluster & {...}, importing %q", pkgDir, clusterSelector, "polylab.dev/gitops/schema")}}
	}
	// Concrete: a required field left out or a value left open is an error too.
	if err := value.Validate(cue.Concrete(true)); err != nil {
		return nil, problemsFromCUE(pkg, err)
	}
	cluster, err := decodeStrict(value)
	if err != nil {
		return nil, err
	}
	loc := locator{value}
	m, err := model.Validate(cluster)
	if err != nil {
		return nil, located(err, loc)
	}
	m.Source = loc
	return m, nil
}

// located fills in the positions of the problems err holds.
func located(err error, l model.Locator) error {
	var ps model.Problems
	if !errors.As(err, &ps) {
		return err
	}
	return ps.Locate(l)
}

// decodeStrict decodes through JSON and refuses fields the Go model does not
// know: cue.Value.Decode would drop them silently.
func decodeStrict(v cue.Value) (*model.Cluster, error) {
	b, err := v.MarshalJSON()
	if err != nil {
		return nil, problemsFromCUE(cue.Value{}, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c model.Cluster
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("the schema and the Go model disagree (update pkg/render/model with cue/schema): %w", err)
	}
	return &c, nil
}

// locator finds values in the CUE value of the cluster.
type locator struct{ cluster cue.Value }

// Position is where the value at path is written, or its closest parent.
// The owner's files come first: a value that unifies the owner's with the
// schema's (a struct, a list) is where the owner wrote it, and a value
// only the schema writes (a default) is its closest parent the owner
// wrote, when there is one.
func (l locator) Position(p model.Path) token.Pos {
	var fallback token.Pos
	for n := len(p); n >= 0; n-- {
		var sels []cue.Selector
		for _, s := range p[:n] {
			switch s := s.(type) {
			case string:
				sels = append(sels, cue.Str(s))
			case int:
				sels = append(sels, cue.Index(s))
			}
		}
		at := l.cluster.LookupPath(cue.MakePath(sels...))
		if !at.Exists() {
			continue
		}
		if pos := ownerPosition(at); pos.IsValid() {
			return pos
		}
		if pos := at.Pos(); pos.IsValid() && !fallback.IsValid() {
			fallback = pos
		}
	}
	return fallback
}

// ownerPosition is where the owner wrote a value: its position, or that
// of the first of the values it unifies that is outside the schema.
func ownerPosition(v cue.Value) token.Pos {
	if pos := v.Pos(); pos.IsValid() && !inSchema(pos) {
		return pos
	}
	if op, args := v.Expr(); op == cue.AndOp {
		for _, a := range args {
			if pos := a.Pos(); pos.IsValid() && !inSchema(pos) {
				return pos
			}
		}
	}
	return token.NoPos
}

func inSchema(pos token.Pos) bool {
	return filepath.Base(filepath.Dir(pos.Filename())) == schemaDir
}
