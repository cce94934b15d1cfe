package charts

import (
	"cmp"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"

	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
)

// Which values a chart reads, found by reading its templates, not by
// rendering them: a value Helm ignores changes no rendered object, but
// neither does a value that only matters under other values (a port
// read only when a feature is on), so rendering with and without a value
// cannot tell an ignored value from a dormant one. The templates can.
//
// The analysis is an abstract interpretation of Go's text/template over
// the templates of the chart and of the subcharts the values leave on:
// every expression evaluates to the set of values paths it may denote
// (.Values.a.b is a.b; inside `with .Values.a`, .b is a.b; `range
// .Values.m` binds a.m.*; `index .Values "a" $k` is a.*; `dict "v"
// .Values.a` carries a.a under key v into an `include`d template; a
// subchart's .Values.x is <subchart>.x, and its .Values.global.x is
// global.x too), and every use of one is a read of that path:
//
//   - deep, covering every value under it, when the value is printed or
//     handed to a function that may look anywhere inside it (toYaml,
//     tpl, merge, an unknown function, an include whose name is computed);
//   - shallow, the path alone, when it is only tested (if, with, empty,
//     not, hasKey) or iterated (range reads the children it names).
//
// It errs on the side of reading: a value is reported only when no path
// any template may read covers it, so a report is a value Helm ignores.
// Values Helm reads itself count too: Chart.yaml's conditions, tags and
// import-values.

// readPath is one values path a chart reads ("*" matches any key).
type readPath struct {
	path []string
	deep bool
}

// avKind is what an abstract value stands for.
type avKind int

const (
	avRoot      avKind = iota // a chart's top-level context: .Values, .Release, ...
	avValues                  // a values path
	avDict                    // a dict built by the template
	avList                    // a list built by the template
	avLit                     // a string literal
	avSubcharts               // .Subcharts of a chart
)

// av is an abstract value.
type av struct {
	kind avKind
	// path is the values path of avValues; prefix is the values path
	// of a chart (avRoot, avSubcharts), and of the chart a values path
	// was read in (avValues: its .Values.global is global).
	path, prefix []string
	chart        *helmchart.Chart
	fields       map[string]avSet // avDict
	elems        avSet            // avList
	lit          string           // avLit
}

// avSet is the abstract values an expression may evaluate to.
type avSet []*av

func (s avSet) union(o avSet) avSet {
	out := slices.Clone(s)
	for _, v := range o {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// literal returns the string literal the set is, if it is one.
func (s avSet) literal() (string, bool) {
	if len(s) == 1 && s[0].kind == avLit {
		return s[0].lit, true
	}
	return "", false
}

// signature identifies a set, to memoize template invocations.
func (s avSet) signature(depth int) string {
	var parts []string
	for _, v := range s {
		switch v.kind {
		case avRoot:
			parts = append(parts, "root:"+strings.Join(v.prefix, "."))
		case avSubcharts:
			parts = append(parts, "subcharts:"+strings.Join(v.prefix, "."))
		case avValues:
			parts = append(parts, "values:"+strings.Join(v.prefix, ".")+"|"+strings.Join(v.path, "."))
		case avLit:
			parts = append(parts, strconv.Quote(v.lit))
		case avDict:
			if depth > 4 {
				parts = append(parts, "dict")
				continue
			}
			var fs []string
			for _, k := range slices.Sorted(maps.Keys(v.fields)) {
				fs = append(fs, k+"="+v.fields[k].signature(depth+1))
			}
			parts = append(parts, "dict{"+strings.Join(fs, ",")+"}")
		case avList:
			if depth > 4 {
				parts = append(parts, "list")
				continue
			}
			parts = append(parts, "list["+v.elems.signature(depth+1)+"]")
		}
	}
	slices.Sort(parts)
	return "(" + strings.Join(slices.Compact(parts), " ") + ")"
}

func valuesAt(prefix, path []string) *av {
	return &av{kind: avValues, prefix: prefix, path: path}
}

// maxSteps bounds the analysis of one chart: past it, every value is
// taken as read (nothing is reported), and the chart is named in a note.
const maxSteps = 2_000_000

// analyzer walks a chart's templates.
type analyzer struct {
	defs   map[string][]*parse.Tree
	values map[string]any // the chart's values, coalesced, for tpl
	reads  []readPath
	memo   map[string]bool
	steps  int
}

type budgetError struct{}

func (budgetError) Error() string { return "the templates are too large to analyse" }

// chartReads returns the values paths the templates of a chart (with the
// subcharts the values enable: chart after ProcessDependencies) may read,
// for the given owner's values, and the subcharts' conditions and tags,
// which Helm reads to choose them.
func chartReads(hc *helmchart.Chart, owner map[string]any, subs []Subchart) (reads []readPath, err error) {
	coalesced, err := chartutil.CoalesceValues(hc, owner)
	if err != nil {
		return nil, err
	}
	a := &analyzer{defs: map[string][]*parse.Tree{}, values: coalesced, memo: map[string]bool{}}
	for _, s := range subs {
		for _, cond := range strings.Split(s.Condition, ",") {
			if cond = strings.TrimSpace(cond); cond != "" {
				a.read(strings.Split(cond, "."), false)
			}
		}
		for _, tag := range s.Tags {
			a.read(strings.Split(tag, "."), false)
		}
	}
	type file struct {
		tree   *parse.Tree
		prefix []string
		chart  *helmchart.Chart
	}
	var files []file
	var walk func(c *helmchart.Chart, prefix []string, name string) error
	walk = func(c *helmchart.Chart, prefix []string, name string) error {
		for _, t := range c.Templates {
			full := path.Join(name, t.Name)
			trees, err := parseTemplate(full, string(t.Data))
			if err != nil {
				return fmt.Errorf("%s: %w", full, err)
			}
			for n, tr := range trees {
				if n != full {
					a.defs[n] = append(a.defs[n], tr)
				}
			}
			if main := trees[full]; main != nil && !strings.HasPrefix(path.Base(t.Name), "_") {
				files = append(files, file{main, prefix, c})
			}
		}
		// Helm reads these values itself, to import the subcharts' values.
		// (Conditions and tags, which choose the subcharts, are the
		// caller's: the chart here has lost the disabled ones.)
		for _, d := range c.Metadata.Dependencies {
			if d == nil {
				continue
			}
			for _, iv := range d.ImportValues {
				child := ""
				switch iv := iv.(type) {
				case string:
					child = "exports." + iv
				case map[string]any:
					child, _ = iv["child"].(string)
				}
				if child != "" {
					a.read(append(append(slices.Clone(prefix), cmp.Or(d.Alias, d.Name)), strings.Split(child, ".")...), true)
				}
			}
		}
		for _, d := range c.Dependencies() {
			if err := walk(d, append(slices.Clone(prefix), d.Name()), path.Join(name, "charts", d.Name())); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(hc, nil, hc.Name()); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(budgetError); !ok {
				panic(r)
			}
			reads, err = nil, budgetError{}
		}
	}()
	for _, f := range files {
		root := avSet{{kind: avRoot, prefix: f.prefix, chart: f.chart}}
		a.walk(f.tree.Root, root, map[string]avSet{"$": root})
	}
	return a.reads, nil
}

// parseTemplate parses a template as Helm's engine does, without knowing
// its functions (Helm's, sprig's): the analysis treats them by name.
func parseTemplate(name, text string) (map[string]*parse.Tree, error) {
	t := parse.New(name)
	t.Mode = parse.SkipFuncCheck
	set := map[string]*parse.Tree{}
	if _, err := t.Parse(text, "", "", set); err != nil {
		return nil, err
	}
	return set, nil
}

func (a *analyzer) step() {
	a.steps++
	if a.steps > maxSteps {
		panic(budgetError{})
	}
}

func (a *analyzer) read(p []string, deep bool) {
	a.reads = append(a.reads, readPath{slices.Clone(p), deep})
}

// use records that the values of a set are used: deep, or only tested.
func (a *analyzer) use(s avSet, deep bool) {
	a.useDepth(s, deep, 0)
}

func (a *analyzer) useDepth(s avSet, deep bool, depth int) {
	if depth > 8 {
		return
	}
	for _, v := range s {
		switch v.kind {
		case avValues:
			a.read(v.path, deep)
			// A subchart's .Values.global is the parent's global.
			if n := len(v.prefix); len(v.path) >= n && n > 0 {
				switch {
				case len(v.path) == n && deep:
					a.read([]string{"global"}, true)
				case len(v.path) > n && v.path[n] == "global":
					a.read(append([]string{"global"}, v.path[n+1:]...), deep)
				}
			}
		case avDict:
			if deep {
				for _, k := range slices.Sorted(maps.Keys(v.fields)) {
					a.useDepth(v.fields[k], true, depth+1)
				}
			}
		case avList:
			if deep {
				a.useDepth(v.elems, true, depth+1)
			}
		}
	}
}

// walk analyses a list of nodes with dot and the variables in scope.
func (a *analyzer) walk(n parse.Node, dot avSet, vars map[string]avSet) {
	a.step()
	switch n := n.(type) {
	case nil:
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			a.walk(c, dot, vars)
		}
	case *parse.ActionNode:
		v := a.pipe(n.Pipe, dot, vars)
		if len(n.Pipe.Decl) == 0 {
			a.use(v, true) // printed
		}
	case *parse.IfNode:
		a.use(a.pipe(n.Pipe, dot, vars), false)
		a.walk(n.List, dot, vars)
		a.walk(n.ElseList, dot, vars)
	case *parse.WithNode:
		v := a.pipe(n.Pipe, dot, vars)
		a.use(v, false)
		a.walk(n.List, v, vars)
		a.walk(n.ElseList, dot, vars)
	case *parse.RangeNode:
		v := a.pipe(&parse.PipeNode{NodeType: parse.NodePipe, Pos: n.Pipe.Pos, Cmds: n.Pipe.Cmds}, dot, vars)
		a.use(v, false)
		elem := a.elements(v)
		if decl := n.Pipe.Decl; len(decl) > 0 {
			if len(decl) == 2 {
				vars[decl[0].Ident[0]] = nil // the key or index
			}
			last := decl[len(decl)-1].Ident[0]
			vars[last] = vars[last].union(elem)
		}
		a.walk(n.List, elem, vars)
		a.walk(n.ElseList, dot, vars)
	case *parse.TemplateNode:
		var arg avSet
		if n.Pipe != nil {
			arg = a.pipe(n.Pipe, dot, vars)
		}
		a.include(n.Name, arg)
	}
}

// pipe evaluates a pipeline and binds its declared variables.
func (a *analyzer) pipe(p *parse.PipeNode, dot avSet, vars map[string]avSet) avSet {
	if p == nil {
		return nil
	}
	var v avSet
	for i, cmd := range p.Cmds {
		if i == 0 {
			v = a.command(cmd, dot, vars, nil, false)
		} else {
			v = a.command(cmd, dot, vars, v, true)
		}
	}
	// A declaration or an assignment: the variable may hold any value
	// it is ever given (scopes are not tracked, which only adds reads).
	for _, d := range p.Decl {
		vars[d.Ident[0]] = vars[d.Ident[0]].union(v)
	}
	return v
}

// elements are what ranging over a set yields.
func (a *analyzer) elements(s avSet) avSet {
	var out avSet
	for _, v := range s {
		switch v.kind {
		case avValues:
			out = append(out, valuesAt(v.prefix, append(slices.Clone(v.path), "*")))
		case avList:
			out = out.union(v.elems)
		case avDict:
			for _, k := range slices.Sorted(maps.Keys(v.fields)) {
				out = out.union(v.fields[k])
			}
		}
	}
	return out
}

// field selects a field of every value of a set.
func (a *analyzer) field(s avSet, name string) avSet {
	var out avSet
	for _, v := range s {
		switch v.kind {
		case avRoot:
			switch name {
			case "Values":
				out = append(out, valuesAt(v.prefix, slices.Clone(v.prefix)))
			case "Subcharts":
				out = append(out, &av{kind: avSubcharts, prefix: v.prefix, chart: v.chart})
			}
		case avSubcharts:
			if v.chart == nil {
				continue
			}
			for _, d := range v.chart.Dependencies() {
				if d.Name() == name {
					out = append(out, &av{kind: avRoot, prefix: append(slices.Clone(v.prefix), name), chart: d})
				}
			}
		case avValues:
			out = append(out, valuesAt(v.prefix, append(slices.Clone(v.path), name)))
		case avDict:
			out = out.union(v.fields[name])
		}
	}
	return out
}

func (a *analyzer) fields(s avSet, names []string) avSet {
	for _, n := range names {
		s = a.field(s, n)
	}
	return s
}

// arg evaluates one argument of a command.
func (a *analyzer) arg(n parse.Node, dot avSet, vars map[string]avSet) avSet {
	a.step()
	switch n := n.(type) {
	case *parse.DotNode:
		return dot
	case *parse.FieldNode:
		return a.fields(dot, n.Ident)
	case *parse.VariableNode:
		return a.fields(vars[n.Ident[0]], n.Ident[1:])
	case *parse.ChainNode:
		return a.fields(a.arg(n.Node, dot, vars), n.Field)
	case *parse.PipeNode:
		return a.pipe(n, dot, vars)
	case *parse.StringNode:
		return avSet{{kind: avLit, lit: n.Text}}
	case *parse.IdentifierNode:
		return a.call(n.Ident, nil, dot)
	}
	return nil
}

// command evaluates one command of a pipeline; piped is the previous
// command's value, passed as the last argument.
func (a *analyzer) command(cmd *parse.CommandNode, dot avSet, vars map[string]avSet, piped avSet, hasPiped bool) avSet {
	if len(cmd.Args) == 0 {
		return nil
	}
	first := cmd.Args[0]
	var args []avSet
	for _, n := range cmd.Args[1:] {
		args = append(args, a.arg(n, dot, vars))
	}
	if hasPiped {
		args = append(args, piped)
	}
	switch f := first.(type) {
	case *parse.IdentifierNode:
		return a.call(f.Ident, args, dot)
	case *parse.FieldNode, *parse.ChainNode, *parse.VariableNode:
		v := a.arg(first, dot, vars)
		// A method call with arguments (.Files.Get "x"): they are used.
		for _, x := range args {
			a.use(x, true)
		}
		return v
	default:
		v := a.arg(first, dot, vars)
		for _, x := range args {
			a.use(x, true)
		}
		return v
	}
}

// call evaluates a function of Go's templates, sprig or Helm.
func (a *analyzer) call(name string, args []avSet, dot avSet) avSet {
	arg := func(i int) avSet {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	all := func() avSet {
		var out avSet
		for _, x := range args {
			out = out.union(x)
		}
		return out
	}
	switch name {
	case "include":
		if n, ok := arg(0).literal(); ok {
			a.include(n, arg(1))
		} else {
			a.use(arg(1), true)
		}
		return nil
	case "tpl":
		a.use(arg(0), true)
		a.tpl(arg(0), arg(1))
		return nil
	case "default", "coalesce", "and", "or", "ternary", "merge", "mergeOverwrite", "mustMerge", "mustMergeOverwrite",
		"deepCopy", "mustDeepCopy", "concat", "compact", "mustCompact", "uniq", "mustUniq", "reverse", "mustReverse",
		"sortAlpha", "rest", "mustRest", "initial", "mustInitial", "without", "mustWithout", "omit", "slice", "mustSlice", "append", "mustAppend",
		"prepend", "mustPrepend", "required", "fromYamlArray", "toRawYaml":
		switch name {
		case "ternary":
			a.use(arg(2), false)
			return arg(0).union(arg(1))
		case "required":
			return arg(1)
		case "without", "mustWithout", "slice", "mustSlice":
			return arg(0)
		case "append", "mustAppend", "prepend", "mustPrepend":
			return arg(0).union(avSet{{kind: avList, elems: arg(1)}})
		}
		return all()
	case "first", "mustFirst", "last", "mustLast":
		return a.elements(arg(0))
	case "list", "tuple":
		return avSet{{kind: avList, elems: all()}}
	case "dict":
		d := &av{kind: avDict, fields: map[string]avSet{}}
		for i := 0; i+1 < len(args); i += 2 {
			if k, ok := args[i].literal(); ok {
				d.fields[k] = d.fields[k].union(args[i+1])
			} else {
				a.use(args[i+1], true)
			}
		}
		if len(args)%2 == 1 {
			a.use(args[len(args)-1], true)
		}
		return avSet{d}
	case "set":
		k, ok := arg(1).literal()
		for _, v := range arg(0) {
			if v.kind == avDict && ok {
				v.fields[k] = v.fields[k].union(arg(2))
			}
		}
		if !ok {
			a.use(arg(2), true)
		}
		return arg(0)
	case "unset":
		return arg(0)
	case "index", "get", "mustGet", "pluck", "dig", "pick":
		return a.index(name, args)
	case "hasKey":
		if k, ok := arg(1).literal(); ok {
			a.use(a.field(arg(0), k), false)
		} else {
			a.use(a.elements(arg(0)), false)
		}
		return nil
	case "keys", "len", "empty", "not", "kindIs", "kindOf", "typeIs", "typeOf", "typeIsLike":
		for _, x := range args {
			a.use(x, false)
		}
		return nil
	case "values":
		return avSet{{kind: avList, elems: a.elements(arg(0))}}
	}
	// Anything else may look anywhere in its arguments.
	for _, x := range args {
		a.use(x, true)
	}
	return nil
}

// index evaluates index, get, pluck, dig and pick.
func (a *analyzer) index(name string, args []avSet) avSet {
	key := func(s avSet, k avSet) avSet {
		if lit, ok := k.literal(); ok {
			return a.field(s, lit)
		}
		// A computed key: any key, or any element.
		a.use(k, true)
		return a.elements(s)
	}
	switch name {
	case "index":
		if len(args) == 0 {
			return nil
		}
		s := args[0]
		for _, k := range args[1:] {
			s = key(s, k)
		}
		return s
	case "get", "mustGet":
		if len(args) < 2 {
			return nil
		}
		return key(args[0], args[1])
	case "pluck":
		if len(args) < 2 {
			return nil
		}
		var out avSet
		for _, m := range args[1:] {
			out = out.union(key(m, args[0]))
		}
		return avSet{{kind: avList, elems: out}}
	case "dig":
		// dig "a" "b" default dict
		if len(args) < 3 {
			return nil
		}
		s := args[len(args)-1]
		for _, k := range args[:len(args)-2] {
			s = key(s, k)
		}
		return s.union(args[len(args)-2])
	case "pick":
		if len(args) < 2 {
			return nil
		}
		d := &av{kind: avDict, fields: map[string]avSet{}}
		for _, k := range args[1:] {
			if lit, ok := k.literal(); ok {
				d.fields[lit] = a.field(args[0], lit)
			} else {
				a.use(args[0], true)
			}
		}
		return avSet{d}
	}
	return nil
}

// include analyses a named template with its argument as dot (and $).
func (a *analyzer) include(name string, arg avSet) {
	trees := a.defs[name]
	if len(trees) == 0 {
		return
	}
	key := name + arg.signature(0)
	if a.memo[key] {
		return
	}
	a.memo[key] = true
	for _, t := range trees {
		a.walk(t.Root, arg, map[string]avSet{"$": arg})
	}
}

// tpl analyses the strings a tpl call renders as templates: literals,
// and the values (as coalesced) at the paths it is handed.
func (a *analyzer) tpl(text avSet, ctx avSet) {
	var texts []string
	for _, v := range text {
		switch v.kind {
		case avLit:
			texts = append(texts, v.lit)
		case avValues:
			texts = append(texts, stringsAt(a.values, v.path)...)
		}
	}
	for i, t := range texts {
		if !strings.Contains(t, "{{") {
			continue
		}
		trees, err := parseTemplate("tpl", t)
		if err != nil {
			continue // Helm would fail to render it: not ours to report
		}
		key := "tpl:" + strconv.Itoa(i) + t + ctx.signature(0)
		if a.memo[key] {
			continue
		}
		a.memo[key] = true
		for n, tr := range trees {
			if n != "tpl" {
				a.defs[n] = append(a.defs[n], tr)
			}
		}
		if tr := trees["tpl"]; tr != nil {
			a.walk(tr.Root, ctx, map[string]avSet{"$": ctx})
		}
	}
}

// stringsAt collects the strings at a values path ("*" is any key or
// element), everywhere under it.
func stringsAt(v any, p []string) []string {
	if len(p) == 0 {
		var out []string
		var all func(any)
		all = func(v any) {
			switch v := v.(type) {
			case string:
				out = append(out, v)
			case map[string]any:
				for _, k := range slices.Sorted(maps.Keys(v)) {
					all(v[k])
				}
			case []any:
				for _, e := range v {
					all(e)
				}
			}
		}
		all(v)
		return out
	}
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if p[0] == "*" {
			for _, k := range slices.Sorted(maps.Keys(v)) {
				out = append(out, stringsAt(v[k], p[1:])...)
			}
		} else if c, ok := v[p[0]]; ok {
			out = append(out, stringsAt(c, p[1:])...)
		}
	case []any:
		if p[0] == "*" {
			for _, e := range v {
				out = append(out, stringsAt(e, p[1:])...)
			}
		}
	}
	return out
}

// unreadValues returns the leaves of the owner's values that no read covers.
func unreadValues(values map[string]any, reads []readPath) [][]string {
	var out [][]string
	var walk func(v any, at []string)
	walk = func(v any, at []string) {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			for _, k := range slices.Sorted(maps.Keys(m)) {
				walk(m[k], append(slices.Clone(at), k))
			}
			return
		}
		if !covered(at, reads) {
			out = append(out, at)
		}
	}
	walk(values, nil)
	return out
}

// covered reports whether a leaf of the values is read: a deep read of it
// or of a parent, a read of the leaf itself, or a read inside it (of an
// element of a list, a key of a map).
func covered(leaf []string, reads []readPath) bool {
	for _, r := range reads {
		n := min(len(r.path), len(leaf))
		if !matchPath(r.path[:n], leaf[:n]) {
			continue
		}
		if len(r.path) >= len(leaf) || r.deep {
			return true
		}
	}
	return false
}

func matchPath(pattern, p []string) bool {
	for i := range pattern {
		if pattern[i] != "*" && pattern[i] != p[i] {
			return false
		}
	}
	return true
}

// readBelow lists the keys a chart reads right under a values path, for
// a message: what it reads instead.
func readBelow(at []string, reads []readPath) []string {
	var out []string
	for _, r := range reads {
		if len(r.path) > len(at) && matchPath(r.path[:len(at)], at) && r.path[len(at)] != "*" {
			if k := r.path[len(at)]; !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}
