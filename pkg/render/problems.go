package render

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// Problem is one thing wrong with a model: which value, what is wrong with
// it and how to fix it, and where it is written.
type Problem struct {
	// Path is the value's path inside the cluster, such as network.lan.
	Path string
	// Message says what is wrong and, where it can, how to fix it.
	Message string
	// Positions are the file:line:col of the value and of related ones.
	Positions []token.Pos
}

// Problems is the error Load returns for an invalid model: every
// independent problem found, in a stable order.
type Problems []Problem

// Error summarises the problems on one line; Print shows them in full.
func (ps Problems) Error() string {
	if len(ps) == 1 {
		return ps[0].line()
	}
	return fmt.Sprintf("%s (and %d more problems)", ps[0].line(), len(ps)-1)
}

func (p Problem) line() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// PrintError writes err for a person: each problem with its positions
// relative to cwd, one per line below it. Other errors print as text.
func PrintError(w io.Writer, err error, cwd string) {
	var ps Problems
	if !errors.As(err, &ps) {
		fmt.Fprintf(w, "render: %v\n", err)
		return
	}
	for _, p := range ps {
		fmt.Fprintln(w, p.line())
		for _, pos := range p.Positions {
			fmt.Fprintf(w, "    %s\n", relativePosition(pos, cwd))
		}
	}
	noun := "problem"
	if len(ps) > 1 {
		noun = "problems"
	}
	fmt.Fprintf(w, "render: %d %s in the model; nothing was written\n", len(ps), noun)
}

func relativePosition(pos token.Pos, cwd string) string {
	file := pos.Filename()
	if abs, err := filepath.Abs(file); err == nil && cwd != "" {
		if rel, err := filepath.Rel(cwd, abs); err == nil && !strings.HasPrefix(rel, "..") {
			file = rel
		}
	}
	file = filepath.ToSlash(file)
	if !filepath.IsAbs(file) && !strings.HasPrefix(file, ".") {
		file = "./" + file
	}
	return fmt.Sprintf("%s:%d:%d", file, pos.Line(), pos.Column())
}

// problemsFromCUE turns CUE's errors into Problems: every error CUE
// reports, with paths relative to the cluster and friendlier wording for
// the constraints of cue/schema.
func problemsFromCUE(err error) Problems {
	var ps Problems
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		p := Problem{
			Path:      clusterPath(e.Path()),
			Message:   explain(fmt.Sprintf(format, args...)),
			Positions: cueerrors.Positions(e),
		}
		if !slices.ContainsFunc(ps, func(q Problem) bool { return q.Path == p.Path && q.Message == p.Message }) {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		ps = Problems{{Message: err.Error()}}
	}
	return ps
}

func clusterPath(sels []string) string {
	if len(sels) > 0 && sels[0] == clusterSelector {
		sels = sels[1:]
	}
	return strings.Join(sels, ".")
}

// hints maps a schema constraint, as CUE prints it, to what it means.
var hints = []struct {
	pattern *regexp.Regexp
	say     string
}{
	{regexp.MustCompile(`^invalid value (".*") \(out of bound =~"\^\[a-z0-9\]\(\[-a-z0-9\]\*\[a-z0-9\]\)\?\$"\)$`),
		"${1} is not a valid name: use lower-case letters, digits and '-', starting and ending with a letter or digit (a DNS-1123 label)"},
	{regexp.MustCompile(`^invalid value (".*") \(does not satisfy strings.MaxRunes\(63\)\)$`),
		"${1} is too long: a name has at most 63 characters"},
	{regexp.MustCompile(`^invalid value (".*") \(does not satisfy strings.MaxRunes\(15\)\)$`),
		"${1} is too long: a port name has at most 15 characters"},
	{regexp.MustCompile(`^invalid value (".*") \(out of bound =~"\^\(25\[0-5\].*$`),
		"${1} is not an IPv4 address such as 10.0.0.10"},
	{regexp.MustCompile(`^invalid value (".*") \(out of bound =~"\^\[0-9\.\]\+/.*$`),
		"${1} is not a CIDR such as 10.0.0.0/24"},
	{regexp.MustCompile(`^invalid value (-?\d+) \(out of bound (>=1|<=65535)\)$`),
		"${1} is not a port: ports run from 1 to 65535"},
	{regexp.MustCompile(`^field not allowed$`),
		"field not allowed: the schema has no such field; check its spelling against cue/schema"},
	{regexp.MustCompile(`^field is required but not present$`),
		"field is required but not present: add it"},
}

func explain(msg string) string {
	for _, h := range hints {
		if h.pattern.MatchString(msg) {
			return h.pattern.ReplaceAllString(msg, h.say)
		}
	}
	return msg
}

// problemsFromIssues turns the model's consistency issues into Problems,
// finding each value's position in the CUE value it was decoded from.
func problemsFromIssues(cluster cue.Value, issues []model.Issue) Problems {
	ps := make(Problems, 0, len(issues))
	for _, is := range issues {
		p := Problem{Path: is.Path.String(), Message: is.Message}
		at := is.At
		if len(at) == 0 {
			at = append([]model.Path{is.Path}, is.Related...)
		}
		for _, path := range at {
			if pos := position(cluster, path); pos.IsValid() && !slices.Contains(p.Positions, pos) {
				p.Positions = append(p.Positions, pos)
			}
		}
		// A value referenced from two places (externals reusing network.lan)
		// is one mistake: report it once, at its first path.
		if !slices.ContainsFunc(ps, func(q Problem) bool { return q.Message == p.Message && slices.Equal(q.Positions, p.Positions) }) {
			ps = append(ps, p)
		}
	}
	return ps
}

// position finds where the value at path is written, or its closest parent.
func position(v cue.Value, path model.Path) token.Pos {
	for n := len(path); n >= 0; n-- {
		var sels []cue.Selector
		for _, s := range path[:n] {
			switch s := s.(type) {
			case string:
				sels = append(sels, cue.Str(s))
			case int:
				sels = append(sels, cue.Index(s))
			}
		}
		if at := v.LookupPath(cue.MakePath(sels...)); at.Exists() {
			if pos := at.Pos(); pos.IsValid() {
				return pos
			}
		}
	}
	return token.NoPos
}
