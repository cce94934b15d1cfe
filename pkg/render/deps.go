package render

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
)

// dependsOn derives each unit's Flux dependsOn from what the units provide
// and what their objects use, never from a hand-written list: the unit
// installing an API group's CRDs comes before the units with objects of
// that group, the unit creating a namespace before the units that fill it,
// the unit serving a StorageClass before the units whose volumes use it.
func dependsOn(units []component.Unit) (map[string][]string, error) {
	provider := map[string]string{}
	for _, u := range units {
		for _, key := range u.Provides {
			if other, dup := provider[key]; dup {
				return nil, fmt.Errorf("units %s and %s both provide %s; one must own it", other, u.Name, key)
			}
			provider[key] = u.Name
		}
	}
	deps := map[string][]string{}
	for _, u := range units {
		set := map[string]bool{}
		for _, key := range needs(u) {
			p, ok := provider[key]
			switch {
			case !ok && slices.Contains(u.Needs, key):
				return nil, fmt.Errorf("unit %s needs %s, which no app provides; add an app that provides it, or drop the need", u.Name, describe(key))
			case ok && p != u.Name:
				set[p] = true
			}
		}
		deps[u.Name] = slices.Sorted(maps.Keys(set))
	}
	if cycle := findCycle(deps); cycle != nil {
		return nil, fmt.Errorf("the units depend on each other in a circle: %s", strings.Join(cycle, " -> "))
	}
	return deps, nil
}

// needs lists the dependency keys of a unit: the API groups and namespaces
// its objects use, and what the unit says it needs besides.
func needs(u component.Unit) []string {
	keys := slices.Clone(u.Needs)
	for _, o := range u.Objects {
		keys = append(keys, component.APIGroup(kube.GVK(o).Group))
		if ns := o.GetNamespace(); ns != "" {
			keys = append(keys, component.Namespace(ns))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

func describe(key string) string {
	kind, name, _ := strings.Cut(key, ":")
	switch kind {
	case "storage":
		return "StorageClass " + name
	case "api":
		return "the CRDs of API group " + name
	case "namespace":
		return "namespace " + name
	}
	return key
}

// findCycle returns a dependency cycle, or nil if there is none.
func findCycle(deps map[string][]string) []string {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var stack []string
	var visit func(string) []string
	visit = func(n string) []string {
		switch state[n] {
		case visiting:
			i := slices.Index(stack, n)
			return append(slices.Clone(stack[i:]), n)
		case done:
			return nil
		}
		state[n] = visiting
		stack = append(stack, n)
		for _, d := range deps[n] {
			if c := visit(d); c != nil {
				return c
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return nil
	}
	for _, n := range slices.Sorted(maps.Keys(deps)) {
		if c := visit(n); c != nil {
			return c
		}
	}
	return nil
}
