package charts

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/chart/common"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	"sigs.k8s.io/yaml"
)

// unread analyses templates (file name: text) of a chart, with an
// optional subchart "sub" whose templates are named "sub/<file>", and
// returns the leaves of the values (YAML) no template reads.
func unread(t *testing.T, templates map[string]string, values string) []string {
	t.Helper()
	parent := &helmchart.Chart{Metadata: &helmchart.Metadata{APIVersion: "v2", Name: "top", Version: "1.0.0"}}
	sub := &helmchart.Chart{Metadata: &helmchart.Metadata{APIVersion: "v2", Name: "sub", Version: "1.0.0"}}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range templates {
			if !yield(k) {
				return
			}
		}
	}) {
		if rest, ok := strings.CutPrefix(name, "sub/"); ok {
			sub.Templates = append(sub.Templates, &common.File{Name: "templates/" + rest, Data: []byte(templates[name])})
			continue
		}
		parent.Templates = append(parent.Templates, &common.File{Name: "templates/" + name, Data: []byte(templates[name])})
	}
	var subs []Subchart
	if len(sub.Templates) > 0 {
		parent.AddDependency(sub)
		parent.Metadata.Dependencies = []*helmchart.Dependency{{Name: "sub", Version: "1.0.0", Condition: "sub.enabled"}}
		subs = []Subchart{{Path: "sub", Name: "sub", Version: "1.0.0", Condition: "sub.enabled"}}
	}
	var v map[string]any
	if err := yaml.Unmarshal([]byte(values), &v); err != nil {
		t.Fatal(err)
	}
	reads, err := chartReads(parent, v, subs)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, leaf := range unreadValues(v, reads) {
		out = append(out, strings.Join(leaf, "."))
	}
	return out
}

// TestValuesRead shows what counts as reading a value, one construct of
// Go's templates, sprig and Helm at a time; each case lists the values it
// sets and those of them no template reads.
func TestValuesRead(t *testing.T) {
	for _, tc := range []struct {
		name      string
		templates map[string]string
		values    string
		unread    []string
	}{
		{"a path", map[string]string{"a.yaml": `{{ .Values.a.b }}`},
			`{a: {b: 1, c: 2}, d: 3}`, []string{"a.c", "d"}},
		{"$ and variables", map[string]string{"a.yaml": `{{ $v := .Values.a }}{{ with .Values.x }}{{ $.Values.b }}{{ $v.c }}{{ end }}`},
			`{a: {c: 1, d: 1}, b: 1, x: 1}`, []string{"a.d"}},
		{"a test reads the value, not what is under it", map[string]string{"a.yaml": `{{ if .Values.a }}yes{{ end }}{{ if .Values.b.enabled }}{{ end }}`},
			`{a: {b: 1}, b: {enabled: true}}`, []string{"a.b"}},
		{"with moves dot", map[string]string{"a.yaml": `{{ with .Values.a }}{{ .b }}{{ else }}{{ .Values.c }}{{ end }}`},
			`{a: {b: 1, x: 1}, c: 1}`, []string{"a.x"}},
		{"a parent printed whole covers its children", map[string]string{"a.yaml": `{{ toYaml .Values.a | nindent 2 }}`},
			`{a: {b: {c: 1}}, z: 1}`, []string{"z"}},
		{"range over a map and a list", map[string]string{"a.yaml": `{{ range $k, $v := .Values.env }}{{ $k }}={{ $v.value }}{{ end }}{{ range .Values.list }}{{ .name }}{{ end }}`},
			`{env: {A: {value: 1, other: 2}}, list: [{name: x, port: 1}]}`, []string{"env.A.other"}},
		{"index and get", map[string]string{"a.yaml": `{{ index .Values "a-b" "c" }}{{ get .Values.m "k" }}{{ index .Values.any .Release.Name }}`},
			`{a-b: {c: 1, d: 1}, m: {k: 1, j: 1}, any: {web: 1}}`, []string{"a-b.d", "m.j"}},
		{"dict into an include", map[string]string{
			"_h.tpl": `{{ define "h.render" }}{{ .value.port }}{{ include "h.name" .context }}{{ end }}{{ define "h.name" }}{{ .Values.name }}{{ end }}`,
			"a.yaml": `{{ include "h.render" (dict "value" .Values.svc "context" $) }}`},
			`{svc: {port: 1, type: x}, name: n}`, []string{"svc.type"}},
		{"template and a computed include", map[string]string{
			"_h.tpl": `{{ define "h.a" }}{{ .Values.a }}{{ end }}`,
			"a.yaml": `{{ template "h.a" . }}{{ include (printf "h.%s" "b") .Values.b }}`},
			`{a: 1, b: {c: 1}, d: 1}`, []string{"d"}},
		{"default, coalesce, ternary", map[string]string{"a.yaml": `{{ default "x" .Values.a }}{{ coalesce .Values.b .Values.c }}{{ ternary .Values.d .Values.e .Values.f }}`},
			`{a: 1, b: 1, c: 1, d: 1, e: 1, f: {g: 1}}`, []string{"f.g"}},
		{"hasKey tests one key", map[string]string{"a.yaml": `{{ if hasKey .Values.m "k" }}{{ end }}`},
			`{m: {k: {x: 1}, j: 1}}`, []string{"m.j", "m.k.x"}},
		{"tpl renders the values it is given", map[string]string{"a.yaml": `{{ tpl .Values.greeting . }}`},
			`{greeting: "hello {{ .Values.name }}", name: n, other: 1}`, []string{"other"}},
		{"a subchart reads under its name, and global", map[string]string{
			"sub/a.yaml": `{{ .Values.x }}{{ .Values.global.region }}`,
			"a.yaml":     `{{ .Values.top }}`},
			`{sub: {enabled: true, x: 1, z: 1, global: {region: a}}, global: {region: b, zone: c}, top: 1}`, []string{"global.zone", "sub.z"}},
		{".Subcharts gives a subchart's context", map[string]string{
			"sub/a.yaml": ``,
			"a.yaml":     `{{ .Subcharts.sub.Values.port }}`},
			`{sub: {port: 1, other: 1}}`, []string{"sub.other"}},
		{"set and merge", map[string]string{"a.yaml": `{{ $d := dict }}{{ $_ := set $d "p" .Values.a }}{{ $d.p.b }}{{ toYaml (merge .Values.m .Values.k) }}`},
			`{a: {b: 1, c: 1}, m: {x: 1}, k: {z: 1}}`, []string{"a.c"}},
		{"an unknown function may read anything it is given", map[string]string{"a.yaml": `{{ someFunc .Values.a }}`},
			`{a: {b: {c: 1}}}`, []string{}},
		{"partials are read only through include", map[string]string{"_h.tpl": `{{ .Values.a }}`},
			`{a: 1}`, []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.unread, unread(t, tc.templates, tc.values)); diff != "" {
				t.Errorf("unread values (-want +got):\n%s", diff)
			}
		})
	}
}

// A subchart's condition is read by Helm, whether or not it holds.
func TestValuesReadConditions(t *testing.T) {
	got := unread(t, map[string]string{"sub/a.yaml": `{{ .Values.x }}`}, `{sub: {enabled: false, x: 1}}`)
	// (unread analyses the subchart as enabled; the condition is read either way)
	if diff := cmp.Diff([]string{}, got); diff != "" {
		t.Errorf("unread values (-want +got):\n%s", diff)
	}
}
