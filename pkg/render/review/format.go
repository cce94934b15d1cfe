package review

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/diff"

	"github.com/polylab/polylab-gitops/internal/english"
)

// Marker starts every Markdown report: the pull-request workflow finds
// its one comment by it, and updates it instead of adding another.
const Marker = "<!-- polylab-render-diff -->"

// Limits that keep a large change readable and a comment within GitHub's
// 65536 characters.
const (
	maxValue     = 120   // characters of a value shown
	maxFields    = 40    // fields shown per object
	maxFileLines = 60    // diff lines shown per text file in Markdown
	maxDangers   = 30    // danger notes shown before the rest fold away
	maxMarkdown  = 60000 // bytes of Markdown, details left out beyond
)

// Heading says what a report compares.
type Heading struct {
	// Dir is the cluster folder as the user names it: clusters/polylab.
	Dir string
	// Base is the git ref compared with; empty means the working tree.
	Base string
}

func (h Heading) against() string {
	if h.Base == "" {
		return "the working tree"
	}
	return h.Base
}

// command is the command that prints the whole report.
func (h Heading) command() string {
	if h.Base == "" {
		return "go run ./cmd/render -diff"
	}
	return "go run ./cmd/render -diff -base " + h.Base
}

// isKustomization tells Flux Kustomizations from the hosts and docs groups.
func isKustomization(g Group) bool {
	return g.Name != HostsGroup && g.Name != DocsGroup && !isChartGroup(g.Name)
}

// summary is the report in one sentence: how many Kustomizations and
// objects change, and how many other files.
func (r *Report) summary() string {
	var kustomizations, added, changed, removed, files int
	var charts, chartAdded, chartChanged, chartRemoved int
	for _, g := range r.Groups {
		switch {
		case isKustomization(g):
			kustomizations++
			added, changed, removed = added+g.Count(Added), changed+g.Count(Changed), removed+g.Count(Removed)
		case isChartGroup(g.Name):
			charts++
			chartAdded, chartChanged, chartRemoved = chartAdded+g.Count(Added), chartChanged+g.Count(Changed), chartRemoved+g.Count(Removed)
		default:
			files += len(g.Files)
		}
	}
	var parts []string
	if kustomizations > 0 {
		parts = append(parts, fmt.Sprintf("%s %s: %s added, %d changed, %d removed",
			english.Plural(kustomizations, "Kustomization"), changes(kustomizations), english.Plural(added, "object"), changed, removed))
	}
	if charts > 0 {
		parts = append(parts, fmt.Sprintf("the charts of %s render otherwise: %s added, %d changed, %d removed",
			english.Plural(charts, "HelmRelease"), english.Plural(chartAdded, "object"), chartChanged, chartRemoved))
	}
	if files > 0 {
		parts = append(parts, fmt.Sprintf("%s not applied by Flux %s", english.Plural(files, "file"), changes(files)))
	}
	return strings.Join(parts, "; ")
}

// changes agrees the verb with a count.
func changes(n int) string {
	if n == 1 {
		return "changes"
	}
	return "change"
}

// groupSummary counts a group's changes: "2 added, 1 changed".
func groupSummary(g Group) string {
	var parts []string
	for _, a := range []Action{Added, Changed, Removed} {
		if n := g.Count(a); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a))
		}
	}
	return strings.Join(parts, ", ")
}

func groupTitle(g Group) string {
	if isKustomization(g) {
		return "Kustomization " + g.Name
	}
	return g.Name
}

// value prints a field's value on one line, long ones cut short.
func value(v any) string {
	var s string
	switch v := v.(type) {
	case string:
		s = strconv.Quote(v)
	case json.Number:
		s = v.String()
	case map[string]any:
		s = "{}"
	case []any:
		s = "[]"
	default:
		s = fmt.Sprint(v)
	}
	if n := utf8.RuneCountInString(s); n > maxValue {
		s = string([]rune(s)[:maxValue]) + fmt.Sprintf("… (%d characters)", n)
	}
	return s
}

// WriteText prints a report for a terminal: the summary with a table of
// Kustomizations, the danger notes, then every object that changes, with
// its changed fields as path: old → new.
func WriteText(w io.Writer, r *Report, h Heading) error {
	bw := bufio.NewWriter(w)
	if r.Empty() {
		fmt.Fprintf(bw, "render: no changes to %s compared with %s\n", h.Dir, h.against())
		return bw.Flush()
	}
	fmt.Fprintf(bw, "render: %s compared with %s: %s\n\n", h.Dir, h.against(), r.summary())
	width := 0
	for _, g := range r.Groups {
		width = max(width, utf8.RuneCountInString(g.Name))
	}
	fmt.Fprintf(bw, "  %-*s  %7s  %7s  %7s\n", width, "", "added", "changed", "removed")
	for _, g := range r.Groups {
		fmt.Fprintf(bw, "  %-*s  %7d  %7d  %7d\n", width, g.Name, g.Count(Added), g.Count(Changed), g.Count(Removed))
	}
	if len(r.Dangers) == 0 {
		fmt.Fprintf(bw, "\nNo danger notes.\n")
	} else {
		fmt.Fprintf(bw, "\n%s:\n", english.Plural(len(r.Dangers), "danger note"))
		for _, d := range r.Dangers {
			fmt.Fprintf(bw, "  ! %s (%s): %s\n", d.Rule, shortGroup(d.Group), d.Message)
		}
	}
	for _, g := range r.Groups {
		fmt.Fprintf(bw, "\n%s: %s\n", groupTitle(g), groupSummary(g))
		for _, o := range g.Objects {
			fmt.Fprintf(bw, "  %s %s%s\n", o.Action.sign(), o.Key, moved(o))
			for i, f := range o.Fields {
				if i == maxFields {
					fmt.Fprintf(bw, "      … %d more fields\n", len(o.Fields)-maxFields)
					break
				}
				switch f.Action {
				case Changed:
					fmt.Fprintf(bw, "      %s: %s → %s\n", f.Path, value(f.Old), value(f.New))
				case Added:
					fmt.Fprintf(bw, "      + %s: %s\n", f.Path, value(f.New))
				case Removed:
					fmt.Fprintf(bw, "      - %s: %s\n", f.Path, value(f.Old))
				}
			}
		}
		for _, f := range g.Files {
			fmt.Fprintf(bw, "  %s %s\n", f.Action.sign(), f.Path)
		}
	}
	return bw.Flush()
}

func moved(o ObjectChange) string {
	if o.MovedFrom == "" {
		return ""
	}
	return " (moved from Kustomization " + o.MovedFrom + ")"
}

// Write prints r in format: "markdown" for a pull-request comment
// (WriteMarkdown), else text for a terminal (WriteText) followed, when
// anything changed, by the unified diff of the files from before to after.
func Write(w io.Writer, format string, r *Report, h Heading, before, after Files) error {
	if format == "markdown" {
		return WriteMarkdown(w, r, h)
	}
	if err := WriteText(w, r, h); err != nil || r.Empty() {
		return err
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	return WriteUnified(w, before, after, h.Dir)
}

// WriteUnified prints the unified diff of every file that differs, named
// a/<dir>/<path> and b/<dir>/<path> as git does.
func WriteUnified(w io.Writer, before, after Files, dir string) error {
	for _, p := range sortedKeys(before, after, strings.Compare) {
		if bytes.Equal(before[p], after[p]) && (before[p] == nil) == (after[p] == nil) {
			continue
		}
		name := strings.TrimSuffix(dir, "/") + "/" + p
		if _, err := w.Write(diff.Diff("a/"+name, before[p], "b/"+name, after[p])); err != nil {
			return err
		}
	}
	return nil
}

// WriteMarkdown prints a report for a pull-request comment: the Marker,
// the summary and a table of Kustomizations, the danger notes, then each
// Kustomization's changes folded in a <details> block, as a diff. Past a
// size GitHub accepts, the remaining details are left out and said so.
func WriteMarkdown(w io.Writer, r *Report, h Heading) error {
	var b bytes.Buffer
	against := h.against()
	if h.Base != "" {
		against = "`" + h.Base + "`"
	}
	fmt.Fprintf(&b, "%s\n### Render diff of `%s` against %s\n\n", Marker, h.Dir, against)
	if r.Empty() {
		fmt.Fprintf(&b, "No changes: a fresh render of the model is identical to %s.\n", against)
		_, err := w.Write(b.Bytes())
		return err
	}
	fmt.Fprintf(&b, "**%s.**", r.summary())
	if len(r.Dangers) > 0 {
		fmt.Fprintf(&b, " ⚠️ **%s.**", english.Plural(len(r.Dangers), "danger note"))
	}
	b.WriteString("\n\n| | added | changed | removed |\n|:--|--:|--:|--:|\n")
	for _, g := range r.Groups {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", mdGroup(g), g.Count(Added), g.Count(Changed), g.Count(Removed))
	}
	writePicture(&b, r.Picture)
	if len(r.Dangers) > 0 {
		fmt.Fprintf(&b, "\n#### ⚠️ Danger notes\n\n")
		for i, d := range r.Dangers {
			if i == maxDangers {
				fmt.Fprintf(&b, "\n<details><summary>%d more danger notes</summary>\n\n", len(r.Dangers)-maxDangers)
			}
			if b.Len() > maxMarkdown/2 {
				fmt.Fprintf(&b, "- and %d more: `%s` shows them all\n", len(r.Dangers)-i, h.command())
				break
			}
			fmt.Fprintf(&b, "- **%s** (%s): %s\n", d.Rule, mdShortGroup(d.Group), mdEscape(d.Message))
		}
		if len(r.Dangers) > maxDangers {
			b.WriteString("\n</details>\n")
		}
	}
	fmt.Fprintf(&b, "\n#### Changes\n")
	for i, g := range r.Groups {
		var d bytes.Buffer
		markdownGroup(&d, g)
		if b.Len()+d.Len() > maxMarkdown {
			fmt.Fprintf(&b, "\nThe details of %s are left out to keep this comment short; `%s` shows them all.\n",
				english.Plural(len(r.Groups)-i, "more group"), h.command())
			break
		}
		b.Write(d.Bytes())
	}
	_, err := w.Write(b.Bytes())
	return err
}

// shortGroup names a group in a danger note: a Kustomization, or hosts.
func shortGroup(name string) string {
	short, _, _ := strings.Cut(name, " (")
	return short
}

func mdShortGroup(name string) string {
	if !isKustomization(Group{Name: name}) {
		return shortGroup(name)
	}
	return "`" + name + "`"
}

func mdGroup(g Group) string {
	if isKustomization(g) {
		return "`" + g.Name + "`"
	}
	return g.Name
}

// mdEscape keeps text from being read as HTML.
func mdEscape(s string) string { return strings.ReplaceAll(s, "<", "&lt;") }

// markdownGroup writes one group folded: its objects as a diff, with a
// hunk header per changed object, and its text files' diffs.
func markdownGroup(b *bytes.Buffer, g Group) {
	fmt.Fprintf(b, "\n<details><summary>%s: %s</summary>\n\n", groupTitleMD(g), groupSummary(g))
	if len(g.Objects) > 0 {
		b.WriteString("```diff\n")
		for _, o := range g.Objects {
			switch o.Action {
			case Added, Removed:
				fmt.Fprintf(b, "%s %s (%s)\n", o.Action.sign(), o.Key, o.Action)
				continue
			}
			fmt.Fprintf(b, "@@ %s%s @@\n", o.Key, moved(o))
			for i, f := range o.Fields {
				if i == maxFields {
					fmt.Fprintf(b, "  … %d more fields\n", len(o.Fields)-maxFields)
					break
				}
				if f.Action != Added {
					fmt.Fprintf(b, "- %s: %s\n", f.Path, value(f.Old))
				}
				if f.Action != Removed {
					fmt.Fprintf(b, "+ %s: %s\n", f.Path, value(f.New))
				}
			}
		}
		b.WriteString("```\n")
	}
	for i, f := range g.Files {
		if i > 0 || len(g.Objects) > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "%s `%s`\n", f.Action, f.Path)
		lines := strings.Split(strings.TrimSuffix(string(diff.Diff("a/"+f.Path, f.Old, "b/"+f.Path, f.New)), "\n"), "\n")
		// From the first hunk: the file names are said above.
		if at := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "@@") }); at > 0 {
			lines = lines[at:]
		}
		if len(lines) > maxFileLines {
			lines = append(lines[:maxFileLines], fmt.Sprintf("… %d more lines", len(lines)-maxFileLines))
		}
		// Four backticks: a diff of Markdown holds fences of three.
		fmt.Fprintf(b, "\n````diff\n%s\n````\n", strings.Join(lines, "\n"))
	}
	b.WriteString("\n</details>\n")
}

func groupTitleMD(g Group) string {
	if isKustomization(g) {
		return "Kustomization <code>" + g.Name + "</code>"
	}
	return g.Name
}

// writePicture draws what the change adds, removes and moves in the
// cluster's shape, or says it is too large to draw; nothing when the
// shape stays.
func writePicture(b *bytes.Buffer, p Picture) {
	diagram, tooLarge := Diagram(p)
	switch {
	case tooLarge:
		fmt.Fprintf(b, "\n#### Picture\n\nToo large for a picture: %s change; the details follow.\n", pictureCounts(p))
	case diagram != "":
		fmt.Fprintf(b, "\n#### Picture\n\nWhat the change does to the flows, the LoadBalancer IPs and the Flux Kustomizations (%s): "+
			"added in green, removed in red and dashed, objects moving between Kustomizations in amber; what stays is grey.\n\n"+
			"```mermaid\n%s```\n", pictureCounts(p), diagram)
	}
}

// pictureCounts says how much of each kind changes: "2 flows, 1
// LoadBalancer IP".
func pictureCounts(p Picture) string {
	var parts []string
	for _, c := range []struct {
		n    int
		noun string
	}{{len(p.Flows), "flow"}, {len(p.Addresses), "LoadBalancer IP claim"}, {len(p.Units), "Kustomization"}, {len(p.Moves), "move between Kustomizations"}} {
		if c.n > 0 {
			parts = append(parts, english.Plural(c.n, c.noun))
		}
	}
	return strings.Join(parts, ", ")
}
