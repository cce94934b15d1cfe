package review

import (
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/polylab/polylab-gitops/pkg/render/policy"
)

// allowance is one thing a NetworkPolicy allows: traffic in a direction
// between the pods it selects and a peer, on a port.
type allowance struct {
	namespace, pods, direction, peer, port string
	// policy and group name the policy allowing it and its Kustomization.
	policy, group string
}

func (a allowance) id() string {
	return strings.Join([]string{a.namespace, a.pods, a.direction, a.peer, a.port}, "\x00")
}

// allowances lists what the NetworkPolicies among objects allow, by
// what is allowed, whichever policy allows it.
func allowances(objects map[Key]object) map[string]allowance {
	out := map[string]allowance{}
	for _, k := range sortedKeys(objects, nil, compareKeys) {
		if k.APIGroup != "networking.k8s.io" || k.Kind != "NetworkPolicy" {
			continue
		}
		o := objects[k]
		pods := podsIn(lookup(o.Content, "spec", "podSelector"), k.Namespace)
		for _, dir := range []struct{ field, peers string }{{"ingress", "from"}, {"egress", "to"}} {
			rules, _ := lookup(o.Content, "spec", dir.field).([]any)
			for _, rule := range rules {
				peers, _ := lookup(rule, dir.peers).([]any)
				ports, _ := lookup(rule, "ports").([]any)
				peerNames := []string{"anywhere"}
				if len(peers) > 0 {
					peerNames = nil
					for _, p := range peers {
						peerNames = append(peerNames, peer(p, k.Namespace))
					}
				}
				portNames := []string{"any port"}
				if len(ports) > 0 {
					portNames = nil
					for _, p := range ports {
						portNames = append(portNames, portName(p))
					}
				}
				for _, p := range peerNames {
					for _, port := range portNames {
						a := allowance{namespace: k.Namespace, pods: pods, direction: dir.field, peer: p, port: port, policy: k.String(), group: o.Unit}
						if _, dup := out[a.id()]; !dup {
							out[a.id()] = a
						}
					}
				}
			}
		}
	}
	return out
}

// flowLine is one line of a policy's flows annotation: the direction
// ("in" or "out"), the flow without its purpose, and its purpose.
type flowLine struct {
	dir, id, purpose string
}

// flowLines yields, in key order, the NetworkPolicies among objects
// carrying the policy.FlowsAnnotation ("in:  from -> to port: purpose" a
// line) with each of its lines that names a flow.
func flowLines(objects map[Key]object) iter.Seq2[Key, flowLine] {
	return func(yield func(Key, flowLine) bool) {
		for _, k := range sortedKeys(objects, nil, compareKeys) {
			lines, ok := lookup(objects[k].Content, "metadata", "annotations", policy.FlowsAnnotation).(string)
			if !ok || k.Kind != "NetworkPolicy" {
				continue
			}
			for _, line := range strings.Split(lines, "\n") {
				dir, flow, ok := strings.Cut(line, ":")
				flow = strings.TrimSpace(flow)
				if !ok || flow == "" {
					continue
				}
				id, purpose, _ := strings.Cut(flow, ": ")
				if !yield(k, flowLine{dir: strings.TrimSpace(dir), id: id, purpose: purpose}) {
					return
				}
			}
		}
	}
}

// declaredFlows reads the flows the rendered policies say they open, by
// flow without its purpose, with the policies that open it.
func declaredFlows(objects map[Key]object) map[string]*declaredFlow {
	out := map[string]*declaredFlow{}
	for k, l := range flowLines(objects) {
		if k.APIGroup != "networking.k8s.io" {
			continue
		}
		f := out[l.id]
		if f == nil {
			f = &declaredFlow{purpose: l.purpose, group: objects[k].Unit}
			out[l.id] = f
		}
		f.policies = append(f.policies, fmt.Sprintf("%s (%s)", k, l.dir))
	}
	return out
}

// declaredFlow is one flow the policies open.
type declaredFlow struct {
	purpose  string
	policies []string // the policies letting it out and in
	group    string
}

// flowDangers: a declared flow that is gone stops, and so does traffic a
// policy the renderer did not annotate allowed before and none after.
func flowDangers(old, cur map[Key]object, declaredBefore, declaredAfter map[string]*declaredFlow) []Danger {
	var out []Danger
	for _, id := range slices.Sorted(maps.Keys(declaredBefore)) {
		if _, kept := declaredAfter[id]; kept {
			continue
		}
		f := declaredBefore[id]
		out = append(out, Danger{Rule: FlowRemoved, Group: f.group, Subject: id,
			Message: fmt.Sprintf("the flow %s is gone (%q): %s no longer let it through, so that traffic stops", id, f.purpose, strings.Join(f.policies, " and "))})
	}
	unannotated := func(objects map[Key]object) map[Key]object {
		return maps.Collect(func(yield func(Key, object) bool) {
			for k, o := range objects {
				if _, ok := lookup(o.Content, "metadata", "annotations", policy.FlowsAnnotation).(string); !ok && !yield(k, o) {
					return
				}
			}
		})
	}
	before, after := allowances(unannotated(old)), allowances(unannotated(cur))
	for _, id := range slices.Sorted(maps.Keys(before)) {
		a := before[id]
		if _, kept := after[id]; kept || namespaceGone(old, cur, a.namespace) {
			continue
		}
		what := fmt.Sprintf("ingress to %s from %s on %s", a.pods, a.peer, a.port)
		if a.direction == "egress" {
			what = fmt.Sprintf("egress from %s to %s on %s", a.pods, a.peer, a.port)
		}
		out = append(out, Danger{Rule: FlowRemoved, Group: a.group, Subject: a.policy,
			Message: fmt.Sprintf("no policy allows %s any more (it was %s): that traffic stops", what, a.policy)})
	}
	return out
}

// podsIn describes the pods a pod selector picks in a namespace.
func podsIn(selector any, namespace string) string {
	if s := selectorString(selector); s != "" {
		return fmt.Sprintf("pods %s in namespace %s", s, namespace)
	}
	return "every pod in namespace " + namespace
}

// peer describes a NetworkPolicy peer: an address block, or pods in
// namespaces.
func peer(p any, namespace string) string {
	if cidr, ok := lookup(p, "ipBlock", "cidr").(string); ok {
		except, _ := lookup(p, "ipBlock", "except").([]any)
		if len(except) == 0 {
			return cidr
		}
		var ex []string
		for _, e := range except {
			ex = append(ex, fmt.Sprint(e))
		}
		return cidr + " except " + strings.Join(ex, ", ")
	}
	nsSelector, hasNS := lookup(p, "namespaceSelector").(map[string]any)
	pods := "every pod"
	if s := selectorString(lookup(p, "podSelector")); s != "" {
		pods = "pods " + s
	}
	switch {
	case !hasNS:
		return pods + " in namespace " + namespace
	case len(nsSelector) == 0:
		return pods + " in every namespace"
	}
	if labels, _ := nsSelector["matchLabels"].(map[string]any); len(labels) == 1 && len(nsSelector) == 1 {
		if name, ok := labels["kubernetes.io/metadata.name"].(string); ok {
			return pods + " in namespace " + name
		}
	}
	return pods + " in namespaces " + selectorString(nsSelector)
}

// selectorString writes a label selector as k=v,k in (a,b); "" selects all.
func selectorString(sel any) string {
	var parts []string
	matchLabels, _ := lookup(sel, "matchLabels").(map[string]any)
	for _, k := range slices.Sorted(maps.Keys(matchLabels)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, matchLabels[k]))
	}
	exprs, _ := lookup(sel, "matchExpressions").([]any)
	for _, e := range exprs {
		values, _ := lookup(e, "values").([]any)
		var vs []string
		for _, v := range values {
			vs = append(vs, fmt.Sprint(v))
		}
		expr := fmt.Sprintf("%v %v", lookup(e, "key"), strings.ToLower(fmt.Sprint(lookup(e, "operator"))))
		if len(vs) > 0 {
			expr += " (" + strings.Join(vs, ",") + ")"
		}
		parts = append(parts, expr)
	}
	return strings.Join(parts, ",")
}

// portName writes a NetworkPolicy port as TCP/80, TCP/http or TCP/80-90.
func portName(p any) string {
	protocol, _ := lookup(p, "protocol").(string)
	if protocol == "" {
		protocol = "TCP"
	}
	port := lookup(p, "port")
	if port == nil {
		return protocol + " (any port)"
	}
	s := fmt.Sprintf("%s/%v", protocol, port)
	if end := lookup(p, "endPort"); end != nil {
		s += fmt.Sprintf("-%v", end)
	}
	return s
}

// namespaceGone reports whether a namespace is deleted, and what ran in
// it with it: its traffic stopping is no news.
func namespaceGone(old, cur map[Key]object, name string) bool {
	k := Key{Kind: "Namespace", Name: name}
	_, was := old[k]
	_, is := cur[k]
	return was && !is
}
