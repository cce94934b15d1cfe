package render

import (
	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/tree"
)

// Applied is the first stages of a render, for the benchmarks: the units,
// their order, and the folders Flux applies, printed but unverified.
func Applied(m *model.Model) (*tree.Tree, []component.Unit, error) {
	units, err := renderUnits(m)
	if err != nil {
		return nil, nil, err
	}
	deps, err := dependsOn(units)
	if err != nil {
		return nil, nil, err
	}
	t := tree.New()
	return t, units, writeUnits(t, m, units, deps)
}

// RuntimePods are the pods the units say are created at run time.
var RuntimePods = runtimePods
