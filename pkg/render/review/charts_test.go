package review_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polylab/polylab-gitops/pkg/render/review"
)

// The objects a HelmRelease's chart renders are compared in a group of
// their own, and the danger notes speak of what Helm does to them.
func TestChartGroups(t *testing.T) {
	chart := func(file string) string { return review.ChartPath("web", "web", file) }
	before := review.Files{
		chart("deployment-web.yaml"): []byte(deployment),
		chart("service-web-lb.yaml"): []byte(service),
	}
	after := review.Files{
		chart("deployment-web.yaml"): []byte(strings.ReplaceAll(deployment, "{app: web}", "{app: www}")),
	}
	r := diff(t, before, after)
	if len(r.Groups) != 1 || r.Groups[0].Name != "HelmRelease web/web (chart)" {
		t.Fatalf("groups %+v", r.Groups)
	}
	want := `  prune (HelmRelease web/web (chart)) Service/web/web-lb: Helm deletes 1 object the chart of HelmRelease web/web no longer renders, when helm-controller upgrades the release: Service/web/web-lb
  immutable field (HelmRelease web/web (chart)) Deployment/web/web: Deployment/web/web changes spec.selector, which cannot change: the API server rejects the change, so the upgrade of HelmRelease web/web fails until the object is deleted by hand (or the HelmRelease sets spec.upgrade.force, which recreates what cannot change)
  LoadBalancer IP (HelmRelease web/web (chart)) 10.0.0.200: `
	if got := notes(r); !strings.HasPrefix(got, want) {
		t.Errorf("notes:\n%s\nwant them to start with:\n%s", got, want)
	}
	var b bytes.Buffer
	if err := review.WriteText(&b, r, review.Heading{Dir: "clusters/tiny"}); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(b.String(), "\n")
	if diff := cmp.Diff("render: clusters/tiny compared with the working tree: the charts of 1 HelmRelease render otherwise: 0 objects added, 1 changed, 1 removed", first); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if !strings.Contains(b.String(), "\nHelmRelease web/web (chart): 1 changed, 1 removed\n") {
		t.Errorf("no group title in:\n%s", b.String())
	}
	if !review.IsChartPath(review.ChartPath("a", "b", "c.yaml")) || review.IsChartPath("apps/web/c.yaml") {
		t.Error("IsChartPath")
	}
}
