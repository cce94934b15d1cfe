package policy_test

import "github.com/polylab/polylab-gitops/pkg/render/internal/modeltest"

// What the renderer's tests share (internal/modeltest).
var (
	testCluster  = modeltest.Cluster
	testModel    = modeltest.Model
	editApp      = modeltest.EditApp
	problemLines = modeltest.ProblemLines
	wantProblem  = modeltest.WantProblem
	selects      = modeltest.Selects
)
