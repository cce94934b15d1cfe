package model

import (
	"slices"
	"strings"
)

// createdBy checks each pod set that says another creates its pods at run
// time: the creator is a workload or helper of the model (not an external
// source, not the pod set itself), and following createdBy from any pod
// set ends at pods something renders, never in a circle.
func (v *validator) createdBy() {
	for _, app := range v.m.byName() {
		for _, s := range app.PodSets() {
			ref := s.Workload.CreatedBy
			if ref == "" {
				continue
			}
			at := s.Path("createdBy")
			creator, err := v.m.Resolve(ref)
			switch {
			case err != nil:
				v.add(at, "%s is created by %s: %v", s.Key(), ref, err)
				continue
			case creator.External != nil:
				v.add(at, "%s is created by %s, an external source; name the workload or helper whose software creates these pods, as app/workload", s.Key(), ref)
				continue
			case creator.Key() == s.Key():
				v.add(at, "%s is created by itself; name the workload or helper that creates these pods, or drop createdBy if a chart renders them", s.Key())
				continue
			}
			circle := []PodSet{s}
			for c := creator.PodSet; c.Workload.CreatedBy != ""; {
				circle = append(circle, c)
				next, err := v.m.Resolve(c.Workload.CreatedBy)
				if err != nil || next.External != nil {
					break // reported at that pod set
				}
				if next.Key() == s.Key() {
					v.circle(circle)
					break
				}
				if slices.ContainsFunc(circle, func(p PodSet) bool { return p.Key() == next.Key() }) {
					break // a circle that s only leads into: reported at its members
				}
				c = next.PodSet
			}
		}
	}
}

// circle reports pod sets that create each other, once, from the first
// of them by name.
func (v *validator) circle(sets []PodSet) {
	first := slices.MinFunc(sets, func(a, b PodSet) int { return strings.Compare(a.Key(), b.Key()) })
	if first.Key() != sets[0].Key() {
		return
	}
	var keys []string
	var at []Path
	for _, s := range sets {
		keys = append(keys, s.Key())
		at = append(at, s.Path("createdBy"))
	}
	v.addAt(at[0], at, "%s are each created by the next (and the last by %s): nothing would ever create the first; one of them runs pods a chart or the renderer renders, so drop its createdBy",
		strings.Join(keys, " -> "), keys[0])
}
