package review

import (
	"path"
	"strings"
)

// The objects a HelmRelease's chart renders (render -diff -charts) are
// compared like the tree's, each release's in a group of its own,
// "HelmRelease cvat/cvat (chart)". Files holds them under ChartPath;
// they are never written.

// chartDir is the folder of Files that holds the charts' objects: a name
// no rendered folder has.
const chartDir = "(charts)"

// ChartPath is where Files holds an object of the chart of HelmRelease
// namespace/name: file is the object's file name, such as
// deployment-cvat-frontend.yaml.
func ChartPath(namespace, name, file string) string {
	return path.Join(chartDir, namespace, name, file)
}

// IsChartPath reports whether a path of Files is a chart's object.
func IsChartPath(p string) bool { return strings.HasPrefix(p, chartDir+"/") }

// ChartGroup names the group of the objects of HelmRelease namespace/name.
func ChartGroup(namespace, name string) string {
	return "HelmRelease " + namespace + "/" + name + " (chart)"
}

// chartGroupOf is the group of a chart's path, or "".
func chartGroupOf(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) < 4 || parts[0] != chartDir {
		return ""
	}
	return ChartGroup(parts[1], parts[2])
}

// isChartGroup reports whether a group holds a chart's objects.
func isChartGroup(name string) bool {
	return strings.HasPrefix(name, "HelmRelease ") && strings.HasSuffix(name, " (chart)")
}

// releaseOf names the HelmRelease of a chart's group: "HelmRelease cvat/cvat".
func releaseOf(group string) string { return strings.TrimSuffix(group, " (chart)") }
