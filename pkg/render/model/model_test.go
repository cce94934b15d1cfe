package model_test

import (
	"testing"

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
