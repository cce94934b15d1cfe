package mermaid

import (
	"context"
	"testing"
)

func TestFlowchart(t *testing.T) {
	c := NewFlowchart("LR")
	g := c.Group("ns_web", "namespace web")
	c.Box(nil, "ext_lan", "lan", Stadium)
	c.Box(g, ID("w", "web/front-end"), Text(`the "front" <end>`), Rect).Class = "new"
	c.Box(g, "w_web__front_end", "ignored: added twice", Rect)
	c.Group("empty", "never written")
	c.Arrow("ext_lan", "w_web__front_end", "10.0.0.1:80").Sep = "<br/>"
	c.Arrow("ext_lan", "w_web__front_end", "10.0.0.2:443")
	c.Arrow("ext_lan", "w_web__front_end", "10.0.0.1:80")
	a := c.Arrow("w_web__front_end", "ext_lan", "")
	a.Dashed, a.Style = true, "stroke:#cf222e"
	c.ClassDef("new fill:#dafbe1")
	want := Compact + `
flowchart LR
  ext_lan(["lan"])
  subgraph ns_web["namespace web"]
    w_web__front_end["the #quot;front#quot; #lt;end#gt;"]:::new
  end
  ext_lan -->|"10.0.0.1:80<br/>10.0.0.2:443"| w_web__front_end
  w_web__front_end -.-> ext_lan
  linkStyle 1 stroke:#cf222e
  classDef new fill:#dafbe1
`
	if got := c.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if boxes, arrows := c.Size(); boxes != 2 || arrows != 2 {
		t.Errorf("Size = %d, %d; want 2, 2", boxes, arrows)
	}
	s, err := Summarize(context.Background(), c.String())
	if err != nil {
		t.Fatal(err)
	}
	if s[0] != (Summary{Type: "flowchart", Nodes: 2, Edges: 2, Subgraphs: 1}) {
		t.Errorf("Mermaid counts %+v", s[0])
	}
}
