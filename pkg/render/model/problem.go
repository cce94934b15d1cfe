package model

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"
)

// Path locates a value inside the cluster: field names (string) and list
// indexes (int), such as nodes.3.ip.
type Path []any

// String writes the path as CUE does: nodes.3.ip.
func (p Path) String() string { return strings.Join(p.selectors(), ".") }

func (p Path) selectors() []string {
	parts := make([]string, len(p))
	for i, s := range p {
		switch s := s.(type) {
		case int:
			parts[i] = strconv.Itoa(s)
		case string:
			parts[i] = s
		}
	}
	return parts
}

// With returns the path of a value inside this one.
func (p Path) With(sub ...any) Path { return append(slices.Clip(p), sub...) }

// Problem is one thing wrong with a model, found at any stage: the value
// at Value, what is wrong with it and how to fix it, and where it is
// written. It is a cue/errors Error, so CUE's printer prints it as it
// prints CUE's own errors, with the owner's file:line:col.
type Problem struct {
	// Value is the offending value.
	Value Path
	// Message says what is wrong and, where it can, how to fix it.
	Message string
	// Related are the other values the problem is about, such as the
	// other half of a duplicate.
	Related []Path
	// At, when set, replaces Value and Related as the places to point
	// at: for a whole list, the entries that matter say more than the list.
	At []Path
	// Positions are where the values are written, filled in by Locate.
	Positions []token.Pos
}

// Problemf returns a Problem with the value at path and a formatted message.
func Problemf(path Path, format string, args ...any) *Problem {
	return &Problem{Value: path, Message: fmt.Sprintf(format, args...)}
}

// Error is the problem on one line: path: message.
func (p *Problem) Error() string {
	if len(p.Value) == 0 {
		return p.Message
	}
	return p.Value.String() + ": " + p.Message
}

// Position is where the offending value is written, if known.
func (p *Problem) Position() token.Pos {
	if len(p.Positions) == 0 {
		return token.NoPos
	}
	return p.Positions[0]
}

// InputPositions are where the related values are written.
func (p *Problem) InputPositions() []token.Pos {
	if len(p.Positions) < 2 {
		return nil
	}
	return p.Positions[1:]
}

// Path is the value's path, for cue/errors.
func (p *Problem) Path() []string { return p.Value.selectors() }

// Msg is the message, for cue/errors (which formats it).
func (p *Problem) Msg() (string, []any) { return "%s", []any{p.Message} }

// places are the paths whose positions the problem shows.
func (p *Problem) places() []Path {
	if len(p.At) > 0 {
		return p.At
	}
	return append([]Path{p.Value}, p.Related...)
}

var _ cueerrors.Error = (*Problem)(nil)

// Problems are every problem found in a model, in the order found. As an
// error, they are what Load, Validate and Render return when the model
// cannot be rendered; PrintProblems shows them.
type Problems []*Problem

// Error summarises the problems on one line.
func (ps Problems) Error() string {
	switch len(ps) {
	case 0:
		return "no problems"
	case 1:
		return ps[0].Error()
	}
	return fmt.Sprintf("%s (and %d more problems)", ps[0].Error(), len(ps)-1)
}

// Err returns the problems as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Add appends problems found elsewhere: Problems, a Problem, or any other
// error, which becomes a problem of the value at path.
func (ps *Problems) Add(path Path, err error) {
	var many Problems
	var one *Problem
	switch {
	case err == nil:
	case errors.As(err, &many):
		*ps = append(*ps, many...)
	case errors.As(err, &one):
		*ps = append(*ps, one)
	default:
		*ps = append(*ps, &Problem{Value: path, Message: err.Error()})
	}
}

// Locator finds where the value at a path is written.
type Locator interface {
	Position(Path) token.Pos
}

// Locate fills in the positions of every problem, and drops a problem
// that repeats another one: a value referenced from two places (externals
// reusing network.lan) is one mistake, reported once at its first path.
func (ps Problems) Locate(l Locator) Problems {
	var out Problems
	for _, p := range ps {
		if l != nil && len(p.Positions) == 0 {
			for _, path := range p.places() {
				if pos := l.Position(path); pos.IsValid() && !slices.Contains(p.Positions, pos) {
					p.Positions = append(p.Positions, pos)
				}
			}
		}
		if !slices.ContainsFunc(out, func(q *Problem) bool { return q.Message == p.Message && slices.Equal(q.Positions, p.Positions) }) {
			out = append(out, p)
		}
	}
	return out
}

// Errors returns the problems as cue/errors Errors, for CUE's printer.
func (ps Problems) Errors() cueerrors.Error {
	var list cueerrors.Error
	for _, p := range ps {
		list = cueerrors.Append(list, p)
	}
	return list
}

// LabelString writes labels as messages show them: key=value, by key,
// separated by commas.
func LabelString(labels map[string]string) string {
	var s []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		s = append(s, k+"="+labels[k])
	}
	return strings.Join(s, ", ")
}
