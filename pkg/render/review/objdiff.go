// Package review shows the owner what a render changes before it is
// merged: the objects it adds, removes and changes, grouped by the Flux
// Kustomization that applies them, with notes on the changes that hurt
// (what prune deletes, immutable fields, moved IPs, a shrinking etcd
// quorum, traffic that stops), as text or as Markdown for a pull request,
// where a picture shows first what the change does to the flows, the
// LoadBalancer IPs and the Flux Kustomizations (picture.go).
package review

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/polylab/polylab-gitops/pkg/render/flux"
	"github.com/polylab/polylab-gitops/pkg/render/host"
	"github.com/polylab/polylab-gitops/pkg/render/tree"
)

// Files is a rendered cluster folder: file contents by slash path relative
// to clusters/<cluster>.
type Files map[string][]byte

// TreeFiles returns the files of a rendered tree.
func TreeFiles(t *tree.Tree) Files {
	files := Files{}
	for _, p := range t.Paths() {
		files[p], _ = t.File(p)
	}
	return files
}

// OnDisk returns the generated files of the folder a plan was computed
// for, as they are now: the tree's files, with every change undone.
func OnDisk(t *tree.Tree, p *tree.Plan) Files {
	files := TreeFiles(t)
	for _, c := range p.Changes {
		if c.Kind == tree.Missing {
			delete(files, c.Path)
		} else {
			files[c.Path] = c.Old
		}
	}
	return files
}

// Groups that are not Flux Kustomizations.
const (
	// FluxSystem is the root Kustomization: the top-level files and flux-system/.
	FluxSystem = flux.SyncName
	// HostsGroup holds the per-node files, compared as text.
	HostsGroup = "hosts (bootstrap inputs, not applied by Flux)"
	// DocsGroup holds the generated Markdown, compared as text.
	DocsGroup = "docs (not applied)"
)

// groupOf names what applies a file, from its folder: <layer>/<unit>/...
// belongs to the Flux Kustomization <unit>.
func groupOf(p string) string {
	if g := chartGroupOf(p); g != "" {
		return g
	}
	parts := strings.Split(p, "/")
	switch {
	case parts[0] == host.Dir:
		return HostsGroup
	case path.Ext(p) == ".md":
		return DocsGroup
	case len(parts) >= 3 && parts[0] != FluxSystem:
		return parts[1]
	}
	return FluxSystem
}

// Key identifies an object as Flux's inventory does: API group, kind,
// namespace and name. A new API version of the same object is a change,
// not a deletion.
type Key struct {
	APIGroup, Kind, Namespace, Name string
}

// String names the object as people do: Kind/namespace/name.
func (k Key) String() string {
	if k.Namespace == "" {
		return k.Kind + "/" + k.Name
	}
	return k.Kind + "/" + k.Namespace + "/" + k.Name
}

func compareKeys(a, b Key) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name), cmp.Compare(a.APIGroup, b.APIGroup))
}

// object is one object of a rendered folder.
type object struct {
	Key
	APIVersion string
	Unit       string // the Flux Kustomization that applies it
	Path       string
	Content    map[string]any
}

// parseObjects reads every object of the folder's YAML files, except the
// hosts' and Kustomize's own kustomization.yaml. Files that are not
// objects (Markdown, hosts, unparsable YAML, a second copy of an object
// edited in by hand) are returned as text.
func parseObjects(files Files) (map[Key]object, Files) {
	objects := map[Key]object{}
	text := Files{}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		group := groupOf(p)
		if group == HostsGroup || group == DocsGroup || (path.Ext(p) != ".yaml" && path.Ext(p) != ".yml") {
			text[p] = files[p]
			continue
		}
		docs, err := parseDocuments(files[p])
		if err != nil {
			text[p] = files[p]
			continue
		}
		fileObjects := map[Key]object{}
		for _, doc := range docs {
			if o, ok := newObject(doc, group, p); ok {
				fileObjects[o.Key] = o
			}
		}
		dup := false
		for k := range fileObjects {
			_, seen := objects[k]
			dup = dup || seen
		}
		if dup {
			text[p] = files[p]
			continue
		}
		maps.Copy(objects, fileObjects)
	}
	return objects, text
}

// parseDocuments splits a YAML stream into its documents, numbers kept as
// written.
func parseDocuments(b []byte) ([]map[string]any, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var docs []map[string]any
	for {
		raw, err := r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, err
		}
		var doc map[string]any
		if err := yaml.Unmarshal(raw, &doc, func(d *json.Decoder) *json.Decoder { d.UseNumber(); return d }); err != nil {
			return nil, err
		}
		if len(doc) > 0 {
			docs = append(docs, doc)
		}
	}
}

func newObject(doc map[string]any, group, p string) (object, bool) {
	apiVersion, _ := doc["apiVersion"].(string)
	kind, _ := doc["kind"].(string)
	if kind == "" || (kind == kustypes.KustomizationKind && strings.HasPrefix(apiVersion, "kustomize.config.k8s.io/")) {
		return object{}, false
	}
	meta, _ := doc["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	namespace, _ := meta["namespace"].(string)
	apiGroup, _, hasVersion := strings.Cut(apiVersion, "/")
	if !hasVersion {
		apiGroup = "" // the core group: apiVersion v1
	}
	return object{
		Key:        Key{APIGroup: apiGroup, Kind: kind, Namespace: namespace, Name: name},
		APIVersion: apiVersion,
		Unit:       group,
		Path:       p,
		Content:    doc,
	}, true
}

// Action is what happens to an object, a field or a file.
type Action string

// The three actions.
const (
	Added   Action = "added"
	Removed Action = "removed"
	Changed Action = "changed"
)

// sign is how the action is marked in front of a line.
func (a Action) sign() string {
	switch a {
	case Added:
		return "+"
	case Removed:
		return "-"
	}
	return "~"
}

// FieldChange is one leaf of an object that differs: its flattened path,
// such as spec.ports[0].port, and its values (nil where absent).
type FieldChange struct {
	Action Action
	Path   string
	Old    any
	New    any
}

// ObjectChange is one object added, removed or changed.
type ObjectChange struct {
	Action     Action
	Key        Key
	APIVersion string
	// Path is the file holding the object (the old file when removed).
	Path string
	// MovedFrom names the Kustomization that applied it before, when it
	// moves to another one.
	MovedFrom string
	// Fields are the changed leaves of a changed object.
	Fields []FieldChange
}

// FileChange is a file compared as text: the hosts' files and the docs.
type FileChange struct {
	Action   Action
	Path     string
	Old, New []byte
}

// Group is what changes in one Flux Kustomization (or hosts, or docs).
type Group struct {
	Name    string
	Objects []ObjectChange
	Files   []FileChange
}

// Count is the number of objects and files of the group with the action.
func (g Group) Count(a Action) int {
	n := 0
	for _, o := range g.Objects {
		if o.Action == a {
			n++
		}
	}
	for _, f := range g.Files {
		if f.Action == a {
			n++
		}
	}
	return n
}

// Report is what a render changes compared with a previous one.
type Report struct {
	// Groups are the Kustomizations with changes: flux-system first, then
	// by name, then the docs and the hosts.
	Groups []Group
	// Dangers are the changes that need a second look, worst first.
	Dangers []Danger
	// Picture is what the change does to the flows, the LoadBalancer IPs
	// and the Flux Kustomizations.
	Picture Picture
}

// Empty reports whether nothing changes.
func (r *Report) Empty() bool { return len(r.Groups) == 0 }

// Count totals the objects and files of every group with the action.
func (r *Report) Count(a Action) int {
	n := 0
	for _, g := range r.Groups {
		n += g.Count(a)
	}
	return n
}

// Diff compares two renders of a cluster folder, object by object.
func Diff(before, after Files) *Report {
	old, oldText := parseObjects(before)
	cur, curText := parseObjects(after)
	groups := map[string]*Group{}
	group := func(name string) *Group {
		if groups[name] == nil {
			groups[name] = &Group{Name: name}
		}
		return groups[name]
	}
	for _, k := range sortedKeys(old, cur, compareKeys) {
		o, wasThere := old[k]
		n, isThere := cur[k]
		switch {
		case !isThere:
			group(o.Unit).Objects = append(group(o.Unit).Objects, ObjectChange{Action: Removed, Key: k, APIVersion: o.APIVersion, Path: o.Path})
		case !wasThere:
			group(n.Unit).Objects = append(group(n.Unit).Objects, ObjectChange{Action: Added, Key: k, APIVersion: n.APIVersion, Path: n.Path})
		default:
			fields := diffFields("", o.Content, n.Content, nil)
			if len(fields) == 0 && o.Unit == n.Unit {
				continue
			}
			c := ObjectChange{Action: Changed, Key: k, APIVersion: n.APIVersion, Path: n.Path, Fields: fields}
			if o.Unit != n.Unit {
				c.MovedFrom = o.Unit
			}
			group(n.Unit).Objects = append(group(n.Unit).Objects, c)
		}
	}
	for _, p := range sortedKeys(oldText, curText, strings.Compare) {
		o, wasThere := oldText[p]
		n, isThere := curText[p]
		c := FileChange{Path: p, Old: o, New: n}
		switch {
		case !isThere:
			c.Action = Removed
		case !wasThere:
			c.Action = Added
		case bytes.Equal(o, n):
			continue
		default:
			c.Action = Changed
		}
		group(groupOf(p)).Files = append(group(groupOf(p)).Files, c)
	}
	r := &Report{}
	for _, name := range slices.SortedFunc(maps.Keys(groups), compareGroups) {
		g := groups[name]
		slices.SortStableFunc(g.Objects, func(a, b ObjectChange) int { return compareKeys(a.Key, b.Key) })
		r.Groups = append(r.Groups, *g)
	}
	both := read(old, cur)
	r.Dangers = dangers(old, cur, oldText, curText, both)
	r.Picture = picture(old, cur, both)
	return r
}

// compareGroups orders flux-system first, the docs and the hosts last.
func compareGroups(a, b string) int {
	rank := func(g string) int {
		switch {
		case g == FluxSystem:
			return 0
		case isChartGroup(g):
			return 2
		case g == DocsGroup:
			return 3
		case g == HostsGroup:
			return 4
		}
		return 1
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
}

// sortedKeys is the union of two maps' keys, in the order compare gives.
func sortedKeys[K comparable, V any](a, b map[K]V, compare func(K, K) int) []K {
	set := maps.Clone(a)
	if set == nil {
		set = map[K]V{}
	}
	maps.Copy(set, b)
	return slices.SortedFunc(maps.Keys(set), compare)
}

// diffFields walks two values in step and appends every leaf that differs:
// map keys in sorted order, list items by index, or, for the lists whose
// order means nothing (setLists), items matched by key or by value. A map
// or list present on one side only is reported leaf by leaf.
func diffFields(at string, old, cur any, out []FieldChange) []FieldChange {
	om, oIsMap := old.(map[string]any)
	cm, cIsMap := cur.(map[string]any)
	if oIsMap && cIsMap {
		for _, k := range sortedKeys(om, cm, strings.Compare) {
			out = diffFields(fieldPath(at, k), om[k], cm[k], out)
		}
		return out
	}
	ol, oIsList := old.([]any)
	cl, cIsList := cur.([]any)
	if oIsList && cIsList {
		if key, ok := setKey(at); ok {
			return diffSet(at, ol, cl, key, out)
		}
		return diffByIndex(at, ol, cl, out)
	}
	if reflect.DeepEqual(old, cur) {
		return out
	}
	switch {
	case old == nil:
		return leaves(at, cur, Added, out)
	case cur == nil:
		return leaves(at, old, Removed, out)
	case isContainer(old) || isContainer(cur):
		// A scalar became a map or list, or the reverse.
		return leaves(at, cur, Added, leaves(at, old, Removed, out))
	}
	return append(out, FieldChange{Action: Changed, Path: at, Old: old, New: cur})
}

func isContainer(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

// leaves appends every leaf of v as added or removed; an empty map or
// list is a leaf itself.
func leaves(at string, v any, a Action, out []FieldChange) []FieldChange {
	add := func(v any) []FieldChange {
		if a == Added {
			return append(out, FieldChange{Action: a, Path: at, New: v})
		}
		return append(out, FieldChange{Action: a, Path: at, Old: v})
	}
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			return add(v)
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			out = leaves(fieldPath(at, k), v[k], a, out)
		}
		return out
	case []any:
		if len(v) == 0 {
			return add(v)
		}
		for i, item := range v {
			out = leaves(at+"["+strconv.Itoa(i)+"]", item, a, out)
		}
		return out
	}
	return add(v)
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// fieldPath appends a map key to a path: .key, or ["key"] when the key
// holds dots, slashes or other characters.
func fieldPath(at, key string) string {
	if !plainKey.MatchString(key) {
		return at + "[" + strconv.Quote(key) + "]"
	}
	if at == "" {
		return key
	}
	return at + "." + key
}

// setLists are the lists whose order means nothing to the API server or
// the controller reading them, by the end of their field path (list
// indexes written []), and the field that names an item, or "" for items
// that are their own identity. The first rule that matches applies. Such
// a list is compared as a set: an item added among 256 ipBlocks is one
// added item, not 257 changed fields.
var setLists = []struct{ suffix, key string }{
	// NetworkPolicy: peers and ports of a rule, and the policy types.
	{"ingress[].from", ""}, {"egress[].to", ""},
	{"ingress[].ports", ""}, {"egress[].ports", ""},
	{"policyTypes", ""},
	// Services' and containers' ports, by name.
	{"ports", "name"},
	// Pods: containers, their variables and mounts, volumes, tolerations.
	{"containers", "name"}, {"initContainers", "name"},
	{"env", "name"}, {"volumeMounts", "mountPath"}, {"volumes", "name"},
	{"volumeClaimTemplates", "metadata.name"},
	{"tolerations", ""},
	{"nodeSelectorTerms", ""}, {"matchExpressions", ""},
	// RBAC rules' and bindings' lists, a kustomization's resources.
	{"apiGroups", ""}, {"resources", ""}, {"verbs", ""}, {"resourceNames", ""}, {"subjects", ""},
	// Flux Kustomizations: what they wait for; MetalLB: the pools.
	{"dependsOn", "name"}, {"healthChecks", ""},
	{"addresses", ""}, {"ipAddressPools", ""},
}

// listIndex matches what a path says inside brackets: an index, a quoted
// map key, or an item's key.
var listIndex = regexp.MustCompile(`\[("(?:[^"\\]|\\.)*"|[^\]]*)\]`)

// setKey reports whether the list at path is a set, and the field that
// names its items ("" for items that are their own identity).
func setKey(at string) (string, bool) {
	norm := listIndex.ReplaceAllString(at, "[]")
	for _, r := range setLists {
		if norm == r.suffix || strings.HasSuffix(norm, "."+r.suffix) {
			return r.key, true
		}
	}
	return "", false
}

// diffByIndex compares two lists item by item.
func diffByIndex(at string, old, cur []any, out []FieldChange) []FieldChange {
	for i := range max(len(old), len(cur)) {
		var o, c any
		if i < len(old) {
			o = old[i]
		}
		if i < len(cur) {
			c = cur[i]
		}
		out = diffFields(at+"["+strconv.Itoa(i)+"]", o, c, out)
	}
	return out
}

// diffSet compares two lists as sets. Items named by a key field are
// matched by it (items at path[key=value]); such a list whose items are
// not all named (a Service's only port may have no name) is compared by
// index. Items that are their own identity are matched by value: an item
// removed at its old index, one added at its new index, except that one
// item replacing one other reads as the fields that changed.
func diffSet(at string, old, cur []any, key string, out []FieldChange) []FieldChange {
	if key != "" {
		oldBy, okOld := byKey(old, key)
		curBy, okCur := byKey(cur, key)
		if !okOld || !okCur {
			return diffByIndex(at, old, cur, out)
		}
		for _, k := range sortedKeys(oldBy, curBy, strings.Compare) {
			out = diffFields(at+"["+key+"="+k+"]", oldBy[k], curBy[k], out)
		}
		return out
	}
	removed, added := unmatched(old, cur), unmatched(cur, old)
	if len(removed) == 1 && len(added) == 1 && removed[0] == added[0] {
		return diffFields(at+"["+strconv.Itoa(added[0])+"]", old[removed[0]], cur[added[0]], out)
	}
	for _, i := range removed {
		out = leaves(at+"["+strconv.Itoa(i)+"]", old[i], Removed, out)
	}
	for _, i := range added {
		out = leaves(at+"["+strconv.Itoa(i)+"]", cur[i], Added, out)
	}
	return out
}

// unmatched lists the indexes of the items of a that b lacks, by value,
// each item of b matching one of a.
func unmatched(a, b []any) []int {
	remaining := map[string]int{}
	for _, item := range b {
		remaining[canonical(item)]++
	}
	var out []int
	for i, item := range a {
		if id := canonical(item); remaining[id] > 0 {
			remaining[id]--
		} else {
			out = append(out, i)
		}
	}
	return out
}

// byKey maps a list's items by a field (dotted for a nested one), if
// every item has one, as a string or number, and no two share it.
func byKey(items []any, key string) (map[string]any, bool) {
	out := map[string]any{}
	for _, item := range items {
		var k string
		switch v := lookup(item, strings.Split(key, ".")...).(type) {
		case string:
			k = v
		case json.Number:
			k = v.String()
		default:
			return nil, false
		}
		if _, dup := out[k]; dup || k == "" {
			return nil, false
		}
		out[k] = item
	}
	return out, true
}

// canonical is an item's identity as a set member: its JSON, whose maps
// have sorted keys.
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
