package render

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// edge is one dependency of a unit on another, and why it exists.
type edge struct {
	to  string
	key component.Key
	at  model.Path
}

// dependsOn derives each unit's Flux dependsOn from what the units provide
// and what their objects use, never from a hand-written list: the unit
// installing an API group's CRDs comes before the units with objects of
// that group, the unit creating a namespace before the units that fill it,
// the unit serving a StorageClass before the units whose volumes use it.
// Every problem names the model value that causes it.
func dependsOn(units []component.Unit) (map[string][]edge, error) {
	var problems model.Problems
	provider := map[component.Key]component.Unit{}
	for _, u := range units {
		for _, key := range u.Provides {
			if other, dup := provider[key]; dup {
				p := model.Problemf(u.Origin, "%s and %s both provide %s; one must own it", other.Owner, u.Owner, describe(key))
				p.Related = []model.Path{other.Origin}
				problems = append(problems, p)
				continue
			}
			provider[key] = u
		}
	}
	deps := map[string][]edge{}
	for _, u := range units {
		deps[u.Name] = nil
		seen := map[string]bool{}
		for _, n := range needs(u) {
			p, ok := provider[n.Key]
			switch {
			case !ok && n.At != nil:
				problems = append(problems, model.Problemf(n.At, "needs %s, which no app provides%s", describe(n.Key), instead(provider, n.Key)))
			case ok && p.Name != u.Name && !seen[p.Name]:
				seen[p.Name] = true
				deps[u.Name] = append(deps[u.Name], edge{p.Name, n.Key, n.At})
			}
		}
		slices.SortFunc(deps[u.Name], func(a, b edge) int { return strings.Compare(a.to, b.to) })
	}
	if cycle := findCycle(deps); cycle != nil {
		problems = append(problems, circle(cycle, units))
	}
	return deps, problems.Err()
}

// needs lists what a unit needs: the API groups and namespaces its
// objects use, and what the unit says it needs besides. Only the latter
// point at a model value: the objects are the renderer's own.
func needs(u component.Unit) []component.Need {
	out := slices.Clone(u.Needs)
	for _, o := range u.Objects {
		out = append(out, component.Need{Key: component.APIGroup(kube.GVK(o).Group)})
		if ns := o.GetNamespace(); ns != "" {
			out = append(out, component.Need{Key: component.Namespace(ns)})
		}
	}
	slices.SortStableFunc(out, func(a, b component.Need) int { return strings.Compare(string(a.Key), string(b.Key)) })
	return slices.CompactFunc(out, func(a, b component.Need) bool { return a.Key == b.Key })
}

// instead says what to do about a need no unit provides: the provided
// name of the same kind it most likely meant, or what is provided.
func instead(provider map[component.Key]component.Unit, key component.Key) string {
	kind, name, _ := strings.Cut(string(key), ":")
	var names []string
	for k := range provider {
		if n, ok := strings.CutPrefix(string(k), kind+":"); ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if hint := model.DidYouMean(name, names); hint != "" {
		return hint
	}
	if len(names) == 0 {
		return "; add an app that provides it, or drop the need"
	}
	return fmt.Sprintf(": the apps provide %s; use one of those, or add an app that provides it", strings.Join(names, ", "))
}

// describe names a dependency key as a person would.
func describe(key component.Key) string {
	kind, name, _ := strings.Cut(string(key), ":")
	switch kind {
	case "storage":
		return "StorageClass " + name
	case "api":
		return "the CRDs of API group " + name
	case "namespace":
		return "namespace " + name
	case "nuclio-project":
		ns, project, _ := strings.Cut(name, "/")
		return "Nuclio project " + project + " in namespace " + ns
	}
	return string(key)
}

// circle reports a dependency circle: each edge that closes it and why it
// exists, at the model values that cause them.
func circle(cycle []edge, units []component.Unit) *model.Problem {
	byName := map[string]component.Unit{}
	for _, u := range units {
		byName[u.Name] = u
	}
	var steps []string
	p := &model.Problem{}
	from := cycle[len(cycle)-1].to
	for _, e := range cycle {
		steps = append(steps, fmt.Sprintf("%s needs %s, which %s provides", from, describe(e.key), e.to))
		at := e.at
		if at == nil {
			at = byName[from].Origin
		}
		if p.Value == nil {
			p.Value = at
		} else {
			p.Related = append(p.Related, at)
		}
		from = e.to
	}
	p.Message = "the units depend on each other in a circle, so Flux could apply none of them: " + strings.Join(steps, "; ") +
		"; drop one of these needs"
	return p
}

// findCycle returns the edges of a dependency cycle, or nil if there is none.
func findCycle(deps map[string][]edge) []edge {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var path []edge
	var visit func(string) []edge
	visit = func(n string) []edge {
		switch state[n] {
		case visiting:
			i := slices.IndexFunc(path, func(e edge) bool { return e.to == n })
			return slices.Clone(path[i+1:])
		case done:
			return nil
		}
		state[n] = visiting
		for _, e := range deps[n] {
			path = append(path, e)
			if c := visit(e.to); c != nil {
				return c
			}
			path = path[:len(path)-1]
		}
		state[n] = done
		return nil
	}
	for _, n := range slices.Sorted(maps.Keys(deps)) {
		path = append(path[:0], edge{to: n})
		if c := visit(n); c != nil {
			return c
		}
	}
	return nil
}
