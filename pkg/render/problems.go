package render

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// PrintError writes err for a person. Problems print as CUE prints its
// own errors, each with the file:line:col of its values relative to cwd,
// then a line that counts them; any other error prints as text.
func PrintError(w io.Writer, err error, cwd string) {
	var ps model.Problems
	if !errors.As(err, &ps) {
		fmt.Fprintf(w, "render: %v\n", err)
		return
	}
	PrintProblems(w, ps, cwd, "in the model; nothing was written")
}

// PrintProblems writes problems as CUE prints its own errors, each with
// the file:line:col of its values relative to cwd, then the line
// "render: <n> problem(s) <tail>" that counts them.
func PrintProblems(w io.Writer, ps model.Problems, cwd, tail string) {
	cueerrors.Print(w, ps.Errors(), &cueerrors.Config{Cwd: cwd, ToSlash: true})
	noun := "problem"
	if len(ps) > 1 {
		noun = "problems"
	}
	fmt.Fprintf(w, "render: %d %s %s\n", len(ps), noun, tail)
}

// CUE's own messages, by their format, which say what is wrong but not
// what to do. The schema's constraints say both in their own words
// (error() in cue/schema); these come from CUE itself.
const (
	cueFieldNotAllowed = "field not allowed"
	cueFieldRequired   = "field is required but not present"
)

// schemaUnknownComponent begins the message cue/schema/app.cue gives an
// app whose component is none of #Components. CUE cannot name the owner's
// string in the error of that same field (it would be a cycle), so the
// name and the "did you mean" are added here.
const schemaUnknownComponent = "unknown component"

// problemsFromCUE turns CUE's errors into Problems: every error CUE
// reports, each once, with paths relative to the cluster, pointing at the
// owner's files rather than the schema's where CUE names both.
func problemsFromCUE(v cue.Value, err error) model.Problems {
	var ps model.Problems
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		p := &model.Problem{
			Value:     clusterPath(e.Path()),
			Message:   fmt.Sprintf(format, args...),
			Positions: ownerPositions(v, e.Path(), cueerrors.Positions(e)),
		}
		switch format {
		case cueFieldNotAllowed:
			p.Message += "; the schema has no such field" + fieldHint(v, e.Path())
		case cueFieldRequired:
			p.Message += ": add it"
		}
		if rest, ok := strings.CutPrefix(p.Message, schemaUnknownComponent+";"); ok {
			if name, ok := ownerString(v, e.Path()); ok {
				p.Message = fmt.Sprintf("%s %q%s;%s", schemaUnknownComponent, name, model.DidYouMean(name, component.Names()), rest)
			}
		}
		if !slices.ContainsFunc(ps, func(q *model.Problem) bool { return q.Value.String() == p.Value.String() && q.Message == p.Message }) {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		ps = model.Problems{{Message: err.Error()}}
	}
	return ps
}

// schemaDir is the folder of the schema in the CUE module.
const schemaDir = "schema"

// ownerPositions are where the owner wrote the value an error is about:
// the positions CUE names outside the schema (the schema's message says
// what it wants), but for those where an enclosing value is written, such
// as the schema.#Cluster reference that every error of the cluster would
// otherwise point at. When CUE names only the schema (a constraint on a
// field's name, such as a label key), the value's own position remains.
func ownerPositions(v cue.Value, path []string, all []token.Pos) []token.Pos {
	var enclosing []token.Pos
	if v.Exists() {
		for n := range len(path) {
			enclosing = append(enclosing, everyPlace(v.LookupPath(selectorPath(path[:n])))...)
		}
	}
	var out []token.Pos
	for _, pos := range all {
		if !inSchema(pos) && !slices.Contains(out, pos) && !slices.Contains(enclosing, pos) {
			out = append(out, pos)
		}
	}
	if len(out) == 0 && v.Exists() && len(path) > 0 {
		out = writtenAt(v.LookupPath(selectorPath(path)))
	}
	if len(out) == 0 {
		return all
	}
	return out
}

// writtenAt is where a value is written outside the schema: its own
// position, or else its first conjunct's.
func writtenAt(v cue.Value) []token.Pos {
	if all := everyPlace(v); len(all) > 0 {
		return all[:1]
	}
	return nil
}

// everyPlace are the positions outside the schema where a value is
// written: its own, then its conjuncts'.
func everyPlace(v cue.Value) []token.Pos {
	if !v.Exists() {
		return nil
	}
	_, conjuncts := v.Expr()
	var out []token.Pos
	for _, c := range append([]cue.Value{v}, conjuncts...) {
		if pos := c.Pos(); pos.IsValid() && !inSchema(pos) && !slices.Contains(out, pos) {
			out = append(out, pos)
		}
	}
	return out
}

func inSchema(pos token.Pos) bool {
	return filepath.Base(filepath.Dir(pos.Filename())) == schemaDir
}

// fieldHint names the field a misspelt one most likely meant, from the
// fields its parent allows, or points at the schema.
func fieldHint(v cue.Value, path []string) string {
	if len(path) == 0 || !v.Exists() {
		return "; check its spelling against cue/schema"
	}
	parent := v.LookupPath(selectorPath(path[:len(path)-1]))
	field := unquote(path[len(path)-1])
	var allowed []string
	if iter, err := parent.Fields(cue.Optional(true)); err == nil {
		for iter.Next() {
			if sel := iter.Selector(); sel.IsString() && sel.Unquoted() != field {
				allowed = append(allowed, sel.Unquoted())
			}
		}
	}
	if hint := model.DidYouMean(field, allowed); hint != "" {
		return hint
	}
	return "; check its spelling against cue/schema"
}

// ownerString is the string the owner wrote at path, found among the
// conjuncts of a value that failed: the schema's error() is another.
func ownerString(v cue.Value, path []string) (string, bool) {
	if !v.Exists() {
		return "", false
	}
	_, conjuncts := v.LookupPath(selectorPath(path)).Expr()
	for _, c := range conjuncts {
		if s, err := c.String(); err == nil && !inSchema(c.Pos()) {
			return s, true
		}
	}
	return "", false
}

// selectorPath is the CUE path of an error's selectors.
func selectorPath(sels []string) cue.Path {
	var out []cue.Selector
	for _, s := range sels {
		if n, err := strconv.Atoi(s); err == nil {
			out = append(out, cue.Index(n))
		} else {
			out = append(out, cue.Str(unquote(s)))
		}
	}
	return cue.MakePath(out...)
}

// unquote is a selector of an error's path as the field's name: CUE
// quotes a name that is not an identifier, such as "rack name".
func unquote(sel string) string {
	if s, err := strconv.Unquote(sel); err == nil {
		return s
	}
	return sel
}

func clusterPath(sels []string) model.Path {
	if len(sels) > 0 && sels[0] == clusterSelector {
		sels = sels[1:]
	}
	p := make(model.Path, len(sels))
	for i, s := range sels {
		p[i] = s
	}
	return p
}
