package render

// The stages of Render, for the benchmarks of render_test.
var (
	Applied   = applied
	ChartPods = chartPods
)
