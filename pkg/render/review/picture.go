package review

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/polylab/polylab-gitops/internal/mermaid"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// Picture is what a change does to the cluster's shape, read from the two
// renders: the flows the NetworkPolicies open (their policy.FlowsAnnotation),
// the LoadBalancer IPs the objects ask for, and the Flux Kustomizations
// with the order between them and the objects that move between them.
// It is what the Markdown report draws before the YAML.
type Picture struct {
	Flows     []FlowChange
	Addresses []AddressChange
	Units     []UnitChange
	Moves     []MoveChange
}

// FlowChange is a flow that a policy opens now and did not before
// (Added), or no longer opens (Removed).
type FlowChange struct {
	Action Action
	// From and To name the ends as flows do (app/workload, app, or a
	// source outside the cluster); Port is the port's name and the pod's
	// port, such as "http 8080".
	From, To, Port string
	// FromNamespace and ToNamespace are the ends' namespaces, where a
	// policy of ours says (one in that namespace lets the flow out or in);
	// empty for a source outside the cluster or a namespace we leave open.
	FromNamespace, ToNamespace string
}

// AddressChange is a LoadBalancer IP an object asks for now and did not
// before (Added), or no longer (Removed). An address that moves is one of
// each.
type AddressChange struct {
	Action Action
	IP     string
	Owner  Key
}

// UnitChange is a Flux Kustomization added or removed, or whose order
// changes (Changed): the units it depends on, each Added, Removed or, for
// a unit that stays, unchanged ("").
type UnitChange struct {
	Action    Action
	Name      string
	DependsOn []Dependency
}

// Dependency is one entry of a Kustomization's dependsOn.
type Dependency struct {
	Name   string
	Action Action
}

// MoveChange is a number of objects that leave one Kustomization for another.
type MoveChange struct {
	From, To string
	Objects  int
}

// Empty reports whether the change leaves the cluster's shape alone.
func (p Picture) Empty() bool {
	return len(p.Flows)+len(p.Addresses)+len(p.Units)+len(p.Moves) == 0
}

// picture compares the two renders' shapes.
func picture(old, cur map[Key]object, r readings) Picture {
	var p Picture
	p.Flows = flowChanges(old, cur, r.flowsBefore, r.flowsAfter)
	p.Addresses = addressChanges(r.claimsBefore, r.claimsAfter)
	p.Units = unitChanges(old, cur)
	moves := map[[2]string]int{}
	for _, m := range r.moves {
		moves[[2]string{m.from, m.to}]++
	}
	for _, m := range slices.SortedFunc(maps.Keys(moves), func(a, b [2]string) int {
		return cmp.Or(compareGroups(a[0], b[0]), compareGroups(a[1], b[1]))
	}) {
		p.Moves = append(p.Moves, MoveChange{From: m[0], To: m[1], Objects: moves[m]})
	}
	return p
}

// parsedFlow is one line of a policy's flows annotation, parsed.
type parsedFlow struct {
	from, to, port string
}

// parseFlow reads a flow as policy.FlowsAnnotation writes it, without its
// purpose: "from -> to name (8080/TCP)", "from -> to name (Service port
// 80, pod port 9000/TCP)", or "from -> the Kubernetes API on the servers
// (6443/TCP)", whose target has no port name.
func parseFlow(id string) (parsedFlow, bool) {
	from, rest, ok := strings.Cut(id, " -> ")
	open := strings.LastIndex(rest, " (")
	if !ok || open < 0 || !strings.HasSuffix(rest, ")") {
		return parsedFlow{}, false
	}
	head, detail := rest[:open], rest[open+2:len(rest)-1]
	if _, pod, ok := strings.Cut(detail, "pod port "); ok {
		detail = pod
	}
	detail = strings.TrimSuffix(detail, "/TCP")
	f := parsedFlow{from: from, to: head, port: detail}
	// Names hold no spaces: "to name" is a target and its port's name.
	if to, name, ok := strings.Cut(head, " "); ok && !strings.Contains(name, " ") {
		f.to, f.port = to, name+" "+detail
	}
	return f, true
}

// flowNamespaces learns where the ends of the flows live from the
// policies that let them in (the target's namespace) and out (the source's).
func flowNamespaces(objects ...map[Key]object) map[string]string {
	out := map[string]string{}
	for _, objs := range objects {
		for k, l := range flowLines(objs) {
			f, ok := parseFlow(l.id)
			if !ok {
				continue
			}
			end := f.to
			if l.dir == "out" {
				end = f.from
			}
			if _, known := out[end]; !known {
				out[end] = k.Namespace
			}
		}
	}
	return out
}

func flowChanges(old, cur map[Key]object, before, after map[string]*declaredFlow) []FlowChange {
	namespaces := flowNamespaces(cur, old)
	var out []FlowChange
	for _, id := range sortedKeys(before, after, strings.Compare) {
		_, was := before[id]
		_, is := after[id]
		f, ok := parseFlow(id)
		if was == is || !ok {
			continue
		}
		action := Added
		if was {
			action = Removed
		}
		out = append(out, FlowChange{Action: action, From: f.from, To: f.to, Port: f.port,
			FromNamespace: namespaces[f.from], ToNamespace: namespaces[f.to]})
	}
	return out
}

func addressChanges(old, cur []lbClaim) []AddressChange {
	type claim struct {
		ip    string
		owner Key
	}
	claims := func(list []lbClaim) map[claim]bool {
		out := map[claim]bool{}
		for _, c := range list {
			out[claim{c.ip, c.key}] = true
		}
		return out
	}
	before, after := claims(old), claims(cur)
	var out []AddressChange
	for _, c := range sortedKeys(before, after, func(a, b claim) int {
		return cmp.Or(compareKeys(a.owner, b.owner), strings.Compare(a.ip, b.ip))
	}) {
		switch {
		case before[c] && !after[c]:
			out = append(out, AddressChange{Action: Removed, IP: c.ip, Owner: c.owner})
		case after[c] && !before[c]:
			out = append(out, AddressChange{Action: Added, IP: c.ip, Owner: c.owner})
		}
	}
	return out
}

// units reads the Flux Kustomizations of a render and their dependsOn.
func units(objects map[Key]object) map[string][]string {
	out := map[string][]string{}
	for k, o := range objects {
		if k.APIGroup != "kustomize.toolkit.fluxcd.io" || k.Kind != "Kustomization" || k.Namespace != model.FluxNamespace {
			continue
		}
		var deps []string
		list, _ := lookup(o.Content, "spec", "dependsOn").([]any)
		for _, d := range list {
			if name, ok := lookup(d, "name").(string); ok {
				deps = append(deps, name)
			}
		}
		out[k.Name] = deps
	}
	return out
}

func unitChanges(old, cur map[Key]object) []UnitChange {
	before, after := units(old), units(cur)
	var out []UnitChange
	for _, name := range sortedKeys(before, after, compareGroups) {
		was, is := before[name], after[name]
		_, existed := before[name]
		_, exists := after[name]
		u := UnitChange{Name: name}
		switch {
		case !existed:
			u.Action = Added
			for _, d := range is {
				u.DependsOn = append(u.DependsOn, Dependency{Name: d, Action: Added})
			}
		case !exists:
			u.Action = Removed
			for _, d := range was {
				u.DependsOn = append(u.DependsOn, Dependency{Name: d, Action: Removed})
			}
		default:
			changed := false
			for _, d := range slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(was), is...)))) {
				dep := Dependency{Name: d}
				switch {
				case !slices.Contains(was, d):
					dep.Action, changed = Added, true
				case !slices.Contains(is, d):
					dep.Action, changed = Removed, true
				}
				u.DependsOn = append(u.DependsOn, dep)
			}
			if !changed {
				continue
			}
			u.Action = Changed
		}
		out = append(out, u)
	}
	return out
}

// The most the picture draws: a change past it is too large to take in as
// a picture, and the report says so instead.
const (
	maxPictureBoxes  = 30
	maxPictureArrows = 40
)

// The looks of what a change adds, removes, moves, and of the context.
const (
	classAdded    = "added fill:#dafbe1,stroke:#1a7f37,color:#0f3d1f"
	classRemoved  = "removed fill:#ffebe9,stroke:#cf222e,color:#5c0f14,stroke-dasharray: 5 5"
	classContext  = "context fill:#f6f8fa,stroke:#8c959f,color:#57606a"
	styleAdded    = "stroke:#1a7f37,stroke-width:2px"
	styleRemoved  = "stroke:#cf222e,stroke-width:2px,stroke-dasharray:5 5"
	styleMoved    = "stroke:#9a6700,stroke-width:2px"
	styleUnchange = "stroke:#8c959f"
)

// Diagram draws the picture as a Mermaid flowchart, without the fence:
// the ends of the flows that come and go, in their namespaces, with the
// flows as green (added) or red dashed (removed) arrows; each LoadBalancer
// IP that comes or goes, pointing at the object that asks for it; the
// Kustomizations that come, go or change order, with their dependsOn as
// arrows from the unit applied first; and the objects moving between
// Kustomizations. What does not change (the ends of a flow, the objects
// holding an address, the units depended on) is grey. It returns "" when
// the change leaves the shape alone, or when there is more than a picture
// can show (maxPictureBoxes boxes or maxPictureArrows arrows), which
// tooLarge then says.
func Diagram(p Picture) (diagram string, tooLarge bool) {
	if p.Empty() {
		return "", false
	}
	c := mermaid.NewFlowchart("LR")
	c.ClassDef(classAdded)
	c.ClassDef(classRemoved)
	c.ClassDef(classContext)
	style := func(a *mermaid.Arrow, action Action) {
		switch action {
		case Added:
			a.Style = styleAdded
		case Removed:
			a.Style, a.Dashed = styleRemoved, true
		default:
			a.Style = styleUnchange
		}
	}
	sign := func(a Action) string {
		switch a {
		case Added:
			return "+ "
		case Removed:
			return "− "
		}
		return ""
	}
	group := func(namespace string) *mermaid.Group {
		if namespace == "" {
			return nil
		}
		return c.Group(mermaid.ID("ns", namespace), "namespace "+mermaid.Text(namespace))
	}
	end := func(name, namespace string) string {
		b := c.Box(group(namespace), mermaid.ID("flow", name), mermaid.Text(name), mermaid.Rect)
		b.Class = "context"
		return b.ID
	}
	for _, f := range p.Flows {
		from, to := end(f.From, f.FromNamespace), end(f.To, f.ToNamespace)
		style(c.KindArrow(string(f.Action), from, to, sign(f.Action)+mermaid.Text(f.Port)), f.Action)
	}
	for _, a := range p.Addresses {
		owner := c.Box(group(a.Owner.Namespace), mermaid.ID("object", a.Owner.String()), mermaid.Text(a.Owner.Kind+" "+a.Owner.Name), mermaid.Rect)
		owner.Class = "context"
		ip := c.Box(nil, mermaid.ID("ip_"+string(a.Action), a.IP), sign(a.Action)+mermaid.Text(a.IP), mermaid.Stadium)
		ip.Class = string(a.Action)
		style(c.KindArrow(string(a.Action), ip.ID, owner.ID, ""), a.Action)
	}
	flux := c.Group("flux_kustomizations", "Flux Kustomizations")
	unit := func(name string, action Action) string {
		b := c.Box(flux, mermaid.ID("unit", name), mermaid.Text(name), mermaid.Rect)
		if b.Class == "" || b.Class == "context" {
			b.Class = "context"
			if action == Added || action == Removed {
				b.Class = string(action)
				b.Label = sign(action) + mermaid.Text(name)
			}
		}
		return b.ID
	}
	for _, u := range p.Units {
		id := unit(u.Name, u.Action)
		for _, d := range u.DependsOn {
			a := c.KindArrow(string(d.Action), unit(d.Name, ""), id, "")
			style(a, d.Action)
		}
	}
	for _, m := range p.Moves {
		noun := "objects move"
		if m.Objects == 1 {
			noun = "object moves"
		}
		a := c.KindArrow("move", unit(m.From, ""), unit(m.To, ""), fmt.Sprintf("%d %s", m.Objects, noun))
		a.Style = styleMoved
	}
	if !c.Fits(maxPictureBoxes, maxPictureArrows) {
		return "", true
	}
	return c.String(), false
}
