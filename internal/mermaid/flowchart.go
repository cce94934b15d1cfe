package mermaid

import (
	"fmt"
	"slices"
	"strings"
)

// Compact asks Mermaid for less room between ranks and boxes than its
// defaults (50 px each): a diagram is read in a GitHub column of about
// 880 px, which shrinks a wider picture, and its text with it.
const Compact = `%%{init: {"flowchart": {"rankSpacing": 30, "nodeSpacing": 20}}}%%`

// Flowchart builds a Mermaid flowchart: boxes, at the top level or in
// subgraphs, and arrows merged per pair of boxes, each labelled with what
// every flow it carries adds (a port, an address), without repeats. Boxes,
// subgraphs and arrows come out in the order they were first added, so the
// same calls give the same text.
type Flowchart struct {
	direction string
	groups    []*Group
	groupOf   map[string]*Group
	top       []*Box
	boxOf     map[string]*Box
	arrows    []*Arrow
	arrowOf   map[[3]string]*Arrow
	classes   []string
}

// Group is a subgraph.
type Group struct {
	ID, Label string
	boxes     []*Box
}

// Shape is how a box is drawn: a format with one %s for its quoted label.
type Shape string

// The shapes the diagrams use.
const (
	Rect    Shape = `["%s"]`
	Stadium Shape = `(["%s"])`
)

// Box is one node of the chart.
type Box struct {
	ID, Label string
	Shape     Shape
	// Class names a ClassDef of the chart, or is empty.
	Class string
}

// Arrow joins two boxes.
type Arrow struct {
	From, To string
	// Labels are the labels of every flow the arrow carries, joined by Sep
	// (", " unless set; "<br/>" puts each on its own line).
	Labels []string
	Sep    string
	Dashed bool
	// Style is a linkStyle for the arrow, such as "stroke:#1a7f37".
	Style string
	kind  string
}

// NewFlowchart starts a flowchart: direction is LR, TB, RL or BT.
func NewFlowchart(direction string) *Flowchart {
	return &Flowchart{direction: direction, groupOf: map[string]*Group{}, boxOf: map[string]*Box{}, arrowOf: map[[3]string]*Arrow{}}
}

// Group returns the subgraph of that id, adding it with the label the first
// time. A subgraph that holds no box is not written.
func (c *Flowchart) Group(id, label string) *Group {
	if g := c.groupOf[id]; g != nil {
		return g
	}
	g := &Group{ID: id, Label: label}
	c.groups = append(c.groups, g)
	c.groupOf[id] = g
	return g
}

// Box adds a box inside g (nil: at the top level) and returns it; a box
// added again keeps its first label and place.
func (c *Flowchart) Box(g *Group, id, label string, shape Shape) *Box {
	if b := c.boxOf[id]; b != nil {
		return b
	}
	b := &Box{ID: id, Label: label, Shape: shape}
	c.boxOf[id] = b
	if g != nil {
		g.boxes = append(g.boxes, b)
	} else {
		c.top = append(c.top, b)
	}
	return b
}

// Arrow adds an arrow between two boxes, or adds the label to the one
// already there, and returns it.
func (c *Flowchart) Arrow(from, to, label string) *Arrow { return c.KindArrow("", from, to, label) }

// KindArrow is Arrow for arrows of a kind: arrows of different kinds
// between the same boxes are drawn apart (a flow that goes and one that
// comes).
func (c *Flowchart) KindArrow(kind, from, to, label string) *Arrow {
	key := [3]string{from, to, kind}
	a := c.arrowOf[key]
	if a == nil {
		a = &Arrow{From: from, To: to, kind: kind}
		c.arrows = append(c.arrows, a)
		c.arrowOf[key] = a
	}
	if label != "" && !slices.Contains(a.Labels, label) {
		a.Labels = append(a.Labels, label)
	}
	return a
}

// ClassDef defines a class boxes may name: "name fill:#fff,stroke:#000".
func (c *Flowchart) ClassDef(def string) {
	if !slices.Contains(c.classes, def) {
		c.classes = append(c.classes, def)
	}
}

// Size is what the chart holds: its boxes (subgraphs not counted) and
// arrows, a pair drawn as one counted once.
func (c *Flowchart) Size() (boxes, arrows int) { return len(c.boxOf), len(c.drawn()) }

// Fits reports whether the chart holds no more than boxes boxes and
// arrows arrows, counted as Size counts them.
func (c *Flowchart) Fits(boxes, arrows int) bool {
	b, a := c.Size()
	return b <= boxes && a <= arrows
}

// drawn are the arrows as written: two arrows between the same boxes in
// opposite directions, with the same labels and looks, become one with a
// head at each end, where the first of them was added.
func (c *Flowchart) drawn() []drawnArrow {
	var out []drawnArrow
	skip := map[*Arrow]bool{}
	for _, a := range c.arrows {
		if skip[a] {
			continue
		}
		d := drawnArrow{Arrow: a}
		if back := c.arrowOf[[3]string{a.To, a.From, a.kind}]; back != nil && back != a && slices.Equal(back.Labels, a.Labels) &&
			back.Sep == a.Sep && back.Dashed == a.Dashed && back.Style == a.Style {
			d.both = true
			skip[back] = true
		}
		out = append(out, d)
	}
	return out
}

type drawnArrow struct {
	*Arrow
	both bool
}

// String writes the chart as Mermaid, without the fence: the Compact
// directive, the boxes at the top level, the subgraphs, the arrows, their
// styles and the classes.
func (c *Flowchart) String() string {
	var b strings.Builder
	b.WriteString(Compact + "\n")
	fmt.Fprintf(&b, "flowchart %s\n", c.direction)
	writeBox := func(x *Box, indent string) {
		shape := x.Shape
		if shape == "" {
			shape = Rect
		}
		fmt.Fprintf(&b, "%s%s%s", indent, x.ID, fmt.Sprintf(string(shape), x.Label))
		if x.Class != "" {
			b.WriteString(":::" + x.Class)
		}
		b.WriteString("\n")
	}
	for _, x := range c.top {
		writeBox(x, "  ")
	}
	for _, g := range c.groups {
		if len(g.boxes) == 0 {
			continue
		}
		fmt.Fprintf(&b, "  subgraph %s[\"%s\"]\n", g.ID, g.Label)
		for _, x := range g.boxes {
			writeBox(x, "    ")
		}
		b.WriteString("  end\n")
	}
	arrows := c.drawn()
	for _, a := range arrows {
		line := "-->"
		switch {
		case a.Dashed && a.both:
			line = "<-.->"
		case a.Dashed:
			line = "-.->"
		case a.both:
			line = "<-->"
		}
		if len(a.Labels) == 0 {
			fmt.Fprintf(&b, "  %s %s %s\n", a.From, line, a.To)
			continue
		}
		sep := a.Sep
		if sep == "" {
			sep = ", "
		}
		fmt.Fprintf(&b, "  %s %s|\"%s\"| %s\n", a.From, line, strings.Join(a.Labels, sep), a.To)
	}
	for i, a := range arrows {
		if a.Style != "" {
			fmt.Fprintf(&b, "  linkStyle %d %s\n", i, a.Style)
		}
	}
	for _, def := range c.classes {
		b.WriteString("  classDef " + def + "\n")
	}
	return b.String()
}

// ID makes a node id from a name: the prefix, an underscore, and the name's
// letters and digits, every other character an underscore and a slash two
// (names hold no slash of their own), so app/workload and app-workload
// differ.
func ID(prefix, name string) string {
	return prefix + "_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ReplaceAll(name, "/", "__"))
}

// Text escapes text for a quoted label: quotes and angle brackets become
// Mermaid's entity codes (labels hold <br/> and <i> of their own).
func Text(s string) string { return entities.Replace(s) }

var entities = strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;")
