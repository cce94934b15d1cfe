package model_test

import (
	"testing"

	"github.com/polylab/polylab-gitops/pkg/render/internal/modeltest"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// A client of an external source is inside its range, and is neither a
// node nor the API VIP, whose traffic policies treat otherwise.
func TestClientOf(t *testing.T) {
	c := tiny()
	lan := model.External{Name: "lan", CIDR: c.Network.LAN}
	// Take the first addresses of the LAN, so ClientOf must skip them.
	first := c.Network.LAN.Addr().Next()
	c.Network.APIVIP = first
	c.Nodes = append(c.Nodes, model.Node{Name: "n2", IP: first.Next(), Role: model.Agent})
	got := c.ClientOf(lan)
	if !c.Network.LAN.Contains(got) {
		t.Fatalf("ClientOf(lan) = %s, outside %s", got, c.Network.LAN)
	}
	if got == c.Network.APIVIP {
		t.Errorf("ClientOf(lan) = %s, the API VIP", got)
	}
	for _, n := range c.Nodes {
		if got == n.IP {
			t.Errorf("ClientOf(lan) = %s, node %s", got, n.Name)
		}
	}
}

// Every pod set's Ref is a name a flow can use: Resolve takes it back to
// the same pod set, in whatever model is loaded.
func TestRefResolves(t *testing.T) {
	m := modeltest.Model(t, modeltest.Cluster(t))
	for _, app := range m.Apps {
		for _, s := range app.PodSets() {
			e, err := m.Resolve(s.Ref())
			if err != nil {
				t.Errorf("Resolve(%q), the Ref of %s: %v", s.Ref(), s.Key(), err)
				continue
			}
			if e.PodSet.Key() != s.Key() {
				t.Errorf("Resolve(%q), the Ref of %s, gives %s", s.Ref(), s.Key(), e.PodSet.Key())
			}
		}
	}
}

// The app alone names a workload with the app's name only when it is the
// app's one workload: with two, a flow must name app/workload, and so do
// the messages and annotations that show its Ref.
func TestRefOfAppWithTwoWorkloads(t *testing.T) {
	app := &model.App{Name: "cvat", Workloads: []model.Workload{{Name: "cvat"}}}
	if got := (model.PodSet{App: app, Workload: &app.Workloads[0]}).Ref(); got != "cvat" {
		t.Errorf("Ref of the only workload = %q, want cvat", got)
	}
	app.Workloads = append(app.Workloads, model.Workload{Name: "worker"})
	if got := (model.PodSet{App: app, Workload: &app.Workloads[0]}).Ref(); got != "cvat/cvat" {
		t.Errorf("Ref of one of two workloads = %q, want cvat/cvat", got)
	}
}
