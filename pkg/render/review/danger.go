package review

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// Rule is a class of dangerous change.
type Rule string

// The rules, from the worst.
const (
	// Prune: an object leaves the tree, so Flux deletes it.
	Prune Rule = "prune"
	// Quorum: a server leaves the embedded etcd cluster.
	Quorum Rule = "etcd quorum"
	// Immutable: a field the API server refuses to change.
	Immutable Rule = "immutable field"
	// LoadBalancerIP: a Service's fixed address moves or goes.
	LoadBalancerIP Rule = "LoadBalancer IP"
	// FlowRemoved: a NetworkPolicy stops allowing some traffic.
	FlowRemoved Rule = "flow removed"
	// Selector: a Service sends its traffic to other pods.
	Selector Rule = "Service selector"
	// Moved: an object changes Kustomization, which may prune it first.
	Moved Rule = "moved"
)

var ruleOrder = []Rule{Prune, Quorum, Immutable, LoadBalancerIP, FlowRemoved, Selector, Moved}

// Danger is one change that needs a second look: what it does, and why.
type Danger struct {
	Rule Rule
	// Group is the Kustomization (or hosts) the change belongs to.
	Group string
	// Subject is what the note is about: an object, a node, an address.
	Subject string
	// Message says what will happen and what to do about it.
	Message string
	// weight orders the notes of a rule: lower is worse.
	weight int
}

// readings is what both the dangers and the picture read of the two
// renders, read once.
type readings struct {
	flowsBefore, flowsAfter   map[string]*declaredFlow
	claimsBefore, claimsAfter []lbClaim
	moves                     []move
}

func read(old, cur map[Key]object) readings {
	return readings{
		flowsBefore: declaredFlows(old), flowsAfter: declaredFlows(cur),
		claimsBefore: lbClaims(old), claimsAfter: lbClaims(cur),
		moves: moves(old, cur),
	}
}

// dangers applies every rule to the two renders and sorts the notes.
func dangers(old, cur map[Key]object, oldText, curText Files, r readings) []Danger {
	var out []Danger
	out = append(out, pruneDangers(old, cur)...)
	out = append(out, quorumDangers(oldText, curText)...)
	for _, k := range sortedKeys(old, cur, compareKeys) {
		o, wasThere := old[k]
		n, isThere := cur[k]
		if wasThere && isThere {
			out = append(out, immutableDangers(o, n, fluxForced(cur, n))...)
		}
	}
	out = append(out, movedDangers(r.moves)...)
	out = append(out, loadBalancerDangers(r.claimsBefore, r.claimsAfter)...)
	out = append(out, flowDangers(old, cur, r.flowsBefore, r.flowsAfter)...)
	slices.SortStableFunc(out, func(a, b Danger) int {
		return cmp.Or(cmp.Compare(slices.Index(ruleOrder, a.Rule), slices.Index(ruleOrder, b.Rule)), cmp.Compare(a.weight, b.weight),
			compareGroups(a.Group, b.Group), cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Message, b.Message))
	})
	return out
}

// movedDangers: an object that changes Kustomization may be pruned by the
// one it leaves before the other applies it. A Namespace takes everything
// in it along, so it gets a note of its own; the rest are listed by the
// pair of Kustomizations.
func movedDangers(moves []move) []Danger {
	type pair struct{ from, to string }
	var out []Danger
	moved := map[pair][]Key{}
	for _, mv := range moves {
		k := mv.key
		if k.APIGroup == "" && k.Kind == "Namespace" {
			out = append(out, Danger{Rule: Moved, Group: mv.to, Subject: k.String(), weight: -1,
				Message: fmt.Sprintf("%s moves from Kustomization %s to %s: if %s reconciles before %s has applied it, %s's prune deletes it, and with it everything in the namespace, and %s creates it again",
					k, mv.from, mv.to, mv.from, mv.to, mv.from, mv.to)})
			continue
		}
		m := pair{mv.from, mv.to}
		moved[m] = append(moved[m], k)
	}
	for _, m := range slices.SortedFunc(maps.Keys(moved), func(a, b pair) int {
		return cmp.Or(compareGroups(a.to, b.to), compareGroups(a.from, b.from))
	}) {
		keys := moved[m]
		what, them := listObjects(keys)+" moves", "it"
		if len(keys) > 1 {
			what, them = fmt.Sprintf("%d objects move (%s)", len(keys), listObjects(keys)), "them"
		}
		out = append(out, Danger{Rule: Moved, Group: m.to, Subject: keys[0].String(),
			Message: fmt.Sprintf("%s from Kustomization %s to %s: if %s reconciles before %s has applied %s, %s's prune deletes %s and %s creates %s again",
				what, m.from, m.to, m.from, m.to, them, m.from, them, m.to, them)})
	}
	return out
}

// move is an object found in both renders whose Kustomization changes.
type move struct {
	key      Key
	from, to string
}

// moves lists the objects that change Kustomization, in key order.
func moves(old, cur map[Key]object) []move {
	var out []move
	for _, k := range sortedKeys(old, cur, compareKeys) {
		o, wasThere := old[k]
		n, isThere := cur[k]
		if wasThere && isThere && o.Unit != n.Unit {
			out = append(out, move{key: k, from: o.Unit, to: n.Unit})
		}
	}
	return out
}

// listObjects names up to ten objects, then how many more there are.
func listObjects(keys []Key) string {
	var names []string
	for i, k := range keys {
		if i == 10 {
			names = append(names, fmt.Sprintf("and %d more", len(keys)-10))
			break
		}
		names = append(names, k.String())
	}
	return strings.Join(names, ", ")
}

// pruneDangers: what leaves the tree, Flux deletes (every Kustomization
// prunes). A Namespace takes everything in it along, a claim its data, a
// HelmRelease everything its chart made; the rest is listed per
// Kustomization.
func pruneDangers(old, cur map[Key]object) []Danger {
	var out []Danger
	rest := map[string][]Key{}
	for _, k := range sortedKeys(old, nil, compareKeys) {
		o := old[k]
		if _, kept := cur[k]; kept || !prunes(old, o.Unit) {
			continue
		}
		d := Danger{Rule: Prune, Group: o.Unit, Subject: k.String(), weight: -1}
		switch {
		case k.APIGroup == "" && k.Kind == "Namespace":
			d.weight = -2
			d.Message = fmt.Sprintf("Flux deletes %s, and Kubernetes deletes everything still in it, what Flux does not manage included: volume claims and their data, Secrets applied by hand", k)
		case k.APIGroup == "" && k.Kind == "PersistentVolumeClaim":
			d.Message = fmt.Sprintf("Flux deletes %s; with a Delete reclaim policy its volume and the data on it are gone", k)
		case k.APIGroup == "kustomize.toolkit.fluxcd.io" && k.Kind == "Kustomization":
			d.Message = fmt.Sprintf("Flux deletes %s, and with it, as it prunes, every object it applied", k)
			if !prunes(old, k.Name) {
				d.Message = fmt.Sprintf("Flux deletes %s; it does not prune, so what it applied stays, unmanaged", k)
			}
		case k.APIGroup == "helm.toolkit.fluxcd.io" && k.Kind == "HelmRelease":
			d.Message = fmt.Sprintf("Flux deletes %s: helm-controller uninstalls the release and every object its chart created", k)
		default:
			rest[o.Unit] = append(rest[o.Unit], k)
			continue
		}
		out = append(out, d)
	}
	for _, g := range slices.Sorted(maps.Keys(rest)) {
		keys := rest[g]
		noun := "objects"
		if len(keys) == 1 {
			noun = "object"
		}
		msg := fmt.Sprintf("Flux prunes %d %s of Kustomization %s: %s", len(keys), noun, g, listObjects(keys))
		if isChartGroup(g) {
			msg = fmt.Sprintf("Helm deletes %d %s the chart of %s no longer renders, when helm-controller upgrades the release: %s", len(keys), noun, releaseOf(g), listObjects(keys))
		}
		out = append(out, Danger{Rule: Prune, Group: g, Subject: keys[0].String(), Message: msg})
	}
	return out
}

// prunes reports whether the Flux Kustomization applying group deletes
// what leaves its folder: spec.prune, true unless said otherwise.
func prunes(objects map[Key]object, group string) bool {
	ks, ok := fluxKustomization(objects, group)
	if !ok {
		return true
	}
	p, set := lookup(ks.Content, "spec", "prune").(bool)
	return p || !set
}

func fluxKustomization(objects map[Key]object, group string) (object, bool) {
	o, ok := objects[Key{APIGroup: "kustomize.toolkit.fluxcd.io", Kind: "Kustomization", Namespace: model.FluxNamespace, Name: group}]
	return o, ok
}

// fluxForceAnnotation makes Flux recreate an object whose immutable
// fields change instead of failing.
const fluxForceAnnotation = "kustomize.toolkit.fluxcd.io/force"

// fluxForced reports whether Flux deletes and recreates o on an immutable
// change: its Kustomization sets spec.force, or o has the annotation.
func fluxForced(objects map[Key]object, o object) bool {
	if v, _ := lookup(o.Content, "metadata", "annotations", fluxForceAnnotation).(string); v == "enabled" {
		return true
	}
	ks, ok := fluxKustomization(objects, o.Unit)
	force, _ := lookup(ks.Content, "spec", "force").(bool)
	return ok && force
}

// lookup follows map keys into a value; nil when a key is missing.
func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// immutable lists, per kind, the spec fields the API server refuses to
// change once the object exists. A StatefulSet allows only a few.
var immutable = map[Key][]string{
	{APIGroup: "apps", Kind: "Deployment"}:        {"selector"},
	{APIGroup: "apps", Kind: "DaemonSet"}:         {"selector"},
	{APIGroup: "batch", Kind: "Job"}:              {"selector", "template"},
	{APIGroup: "", Kind: "Service"}:               {"clusterIP", "clusterIPs"},
	{APIGroup: "", Kind: "PersistentVolumeClaim"}: {"storageClassName", "accessModes", "volumeName", "volumeMode"},
}

// statefulSetMutable are the only spec fields of a StatefulSet an update
// may change (apps/v1 validation).
var statefulSetMutable = []string{"replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds", "revisionHistoryLimit"}

// immutableDangers finds changed fields the API server rejects, a
// shrinking volume, and a Service selecting other pods.
func immutableDangers(o, n object, forced bool) []Danger {
	kind := Key{APIGroup: n.Key.APIGroup, Kind: n.Kind}
	changed := map[string]bool{}
	for _, f := range diffFields("", o.Content["spec"], n.Content["spec"], nil) {
		top, _, _ := strings.Cut(strings.TrimPrefix(f.Path, "["), ".")
		top, _, _ = strings.Cut(top, "[")
		changed[top] = true
	}
	var fields []string
	if kind == (Key{APIGroup: "apps", Kind: "StatefulSet"}) {
		for f := range changed {
			if !slices.Contains(statefulSetMutable, f) {
				fields = append(fields, f)
			}
		}
	} else {
		for _, f := range immutable[kind] {
			if changed[f] {
				fields = append(fields, f)
			}
		}
	}
	slices.Sort(fields)
	var out []Danger
	var why []string
	if kind == (Key{Kind: "PersistentVolumeClaim"}) {
		if from, to, shrinks := shrinking(lookup(o.Content, "spec", "resources", "requests", "storage"), lookup(n.Content, "spec", "resources", "requests", "storage")); shrinks {
			fields = append(fields, "resources.requests.storage")
			why = append(why, fmt.Sprintf("the claim shrinks from %s to %s, which no volume can do", from, to))
		}
	}
	if kind == (Key{APIGroup: "apps", Kind: "StatefulSet"}) && changed["volumeClaimTemplates"] {
		why = append(why, "claims made from volumeClaimTemplates keep their old spec: resize them by hand")
		oldClaims, _ := lookup(o.Content, "spec", "volumeClaimTemplates").([]any)
		newClaims, _ := lookup(n.Content, "spec", "volumeClaimTemplates").([]any)
		for i := range min(len(oldClaims), len(newClaims)) {
			if from, to, shrinks := shrinking(lookup(oldClaims[i], "spec", "resources", "requests", "storage"), lookup(newClaims[i], "spec", "resources", "requests", "storage")); shrinks {
				name, _ := lookup(newClaims[i], "metadata", "name").(string)
				why = append(why, fmt.Sprintf("claim template %q shrinks from %s to %s, which no volume can do", name, from, to))
			}
		}
	}
	if len(fields) > 0 {
		what := "the API server rejects the change, so Kustomization " + n.Unit + " fails to apply until the object is deleted by hand (or Flux is told to recreate it with the " + fluxForceAnnotation + ": enabled annotation)"
		if isChartGroup(n.Unit) {
			what = "the API server rejects the change, so the upgrade of " + releaseOf(n.Unit) + " fails until the object is deleted by hand (or the HelmRelease sets spec.upgrade.force, which recreates what cannot change)"
		}
		if forced {
			what = "Flux deletes and recreates it, as it is told to force"
			if kind.Kind == "PersistentVolumeClaim" || kind.Kind == "StatefulSet" {
				what += ": a recreated claim starts empty"
			}
		}
		spec := make([]string, len(fields))
		for i, f := range fields {
			spec[i] = "spec." + f
		}
		msg := fmt.Sprintf("%s changes %s, which cannot change: %s", n.Key, strings.Join(spec, ", "), what)
		if len(why) > 0 {
			msg += "; " + strings.Join(why, "; ")
		}
		out = append(out, Danger{Rule: Immutable, Group: n.Unit, Subject: n.Key.String(), Message: msg})
	}
	if kind == (Key{APIGroup: "helm.toolkit.fluxcd.io", Kind: "HelmRelease"}) {
		out = append(out, shrinkingValues(o, n)...)
	}
	if kind == (Key{Kind: "Service"}) && changed["selector"] {
		out = append(out, Danger{Rule: Selector, Group: n.Unit, Subject: n.Key.String(),
			Message: fmt.Sprintf("%s selects %s instead of %s: pods with only the old labels stop receiving its traffic",
				n.Key, labels(lookup(n.Content, "spec", "selector")), labels(lookup(o.Content, "spec", "selector")))})
	}
	return out
}

// shrinkingValues finds chart values named like a volume's size
// (persistence.size, storageSize) that decrease: the chart's claim would
// shrink, which the API server refuses, so the upgrade fails.
func shrinkingValues(o, n object) []Danger {
	var out []Danger
	for _, f := range diffFields("spec.values", lookup(o.Content, "spec", "values"), lookup(n.Content, "spec", "values"), nil) {
		last := strings.ToLower(f.Path[strings.LastIndexAny(f.Path, ".[")+1:])
		if f.Action != Changed || !(strings.Contains(last, "size") || strings.Contains(last, "storage")) {
			continue
		}
		if from, to, shrinks := shrinking(f.Old, f.New); shrinks {
			out = append(out, Danger{Rule: Immutable, Group: n.Unit, Subject: n.Key.String(),
				Message: fmt.Sprintf("%s %s shrinks from %s to %s: if the chart sizes a volume claim with it, the upgrade fails, as claims cannot shrink", n.Key, f.Path, from, to)})
		}
	}
	return out
}

// shrinking reports whether a storage request decreases.
func shrinking(old, cur any) (string, string, bool) {
	from, ok1 := old.(string)
	to, ok2 := cur.(string)
	if !ok1 || !ok2 {
		return "", "", false
	}
	a, err1 := resource.ParseQuantity(from)
	b, err2 := resource.ParseQuantity(to)
	return from, to, err1 == nil && err2 == nil && b.Cmp(a) < 0
}

// labels writes a label map as k=v,k=v in key order.
func labels(v any) string {
	m, _ := v.(map[string]any)
	if len(m) == 0 {
		return "nothing"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, m[k]))
	}
	return strings.Join(parts, ",")
}

// lbClaim is where an object asks for a LoadBalancer address.
type lbClaim struct {
	key   Key
	owner string // object and field
	group string
	ip    string
}

// lbClaims lists the LoadBalancer addresses the objects ask for, in key
// order.
func lbClaims(objects map[Key]object) []lbClaim {
	var out []lbClaim
	for _, k := range sortedKeys(objects, nil, compareKeys) {
		for _, c := range loadBalancerIPs(objects[k]) {
			c.key = k
			out = append(out, c)
		}
	}
	return out
}

// loadBalancerIPs finds every LoadBalancer address an object asks for:
// MetalLB's annotation anywhere in it (Helm values included, and the YAML
// values of a HelmChartConfig) and spec.loadBalancerIP.
func loadBalancerIPs(o object) []lbClaim {
	var out []lbClaim
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				p := fieldPath(at, k)
				s, isString := v[k].(string)
				switch {
				case isString && (k == component.LoadBalancerIPsAnnotation || k == "loadBalancerIP"):
					out = append(out, lbClaim{owner: o.Key.String() + " " + p, group: o.Unit, ip: s})
				case isString && k == "valuesContent":
					var values map[string]any
					if yaml.Unmarshal([]byte(s), &values) == nil {
						walk(p, values)
					}
				default:
					walk(p, v[k])
				}
			}
		case []any:
			for i, item := range v {
				walk(fmt.Sprintf("%s[%d]", at, i), item)
			}
		}
	}
	walk("", o.Content)
	return out
}

// loadBalancerDangers: an address that moves, goes, or is taken by
// another Service breaks whatever reaches the old one (DNS records,
// bookmarks, clients configured with it).
func loadBalancerDangers(old, cur []lbClaim) []Danger {
	claims := func(list []lbClaim) (map[string]lbClaim, map[string]lbClaim) {
		byOwner, byIP := map[string]lbClaim{}, map[string]lbClaim{}
		for _, c := range list {
			byOwner[c.owner] = c
			byIP[c.ip] = c
		}
		return byOwner, byIP
	}
	oldOwners, _ := claims(old)
	curOwners, curIPs := claims(cur)
	var out []Danger
	for _, owner := range sortedKeys(oldOwners, curOwners, strings.Compare) {
		o, had := oldOwners[owner]
		n, has := curOwners[owner]
		switch {
		case had && has && o.ip != n.ip:
			out = append(out, Danger{Rule: LoadBalancerIP, Group: n.group, Subject: o.ip,
				Message: fmt.Sprintf("%s moves from %s to %s: clients, DNS records and bookmarks on %s stop reaching it", owner, o.ip, n.ip, o.ip)})
		case had && !has:
			if taker, taken := curIPs[o.ip]; taken {
				out = append(out, Danger{Rule: LoadBalancerIP, Group: taker.group, Subject: o.ip,
					Message: fmt.Sprintf("%s passes from %s to %s: what reached the one on %s now reaches the other", o.ip, owner, taker.owner, o.ip)})
				continue
			}
			out = append(out, Danger{Rule: LoadBalancerIP, Group: o.group, Subject: o.ip,
				Message: fmt.Sprintf("%s is no longer served (%s is gone): clients on it stop reaching anything", o.ip, owner)})
		}
	}
	return out
}

// Removals are what a report takes away that a one-line summary should
// name: the Flux Kustomizations (units) and Namespaces Flux deletes, and
// how many flows stop.
type Removals struct {
	Kustomizations, Namespaces []string
	Flows                      int
}

// Removals counts what the report removes.
func (r *Report) Removals() Removals {
	var out Removals
	for _, g := range r.Groups {
		for _, o := range g.Objects {
			switch {
			case o.Action != Removed:
			case o.Key.APIGroup == "kustomize.toolkit.fluxcd.io" && o.Key.Kind == "Kustomization":
				out.Kustomizations = append(out.Kustomizations, o.Key.Name)
			case o.Key.APIGroup == "" && o.Key.Kind == "Namespace":
				out.Namespaces = append(out.Namespaces, o.Key.Name)
			}
		}
	}
	for _, d := range r.Dangers {
		if d.Rule == FlowRemoved {
			out.Flows++
		}
	}
	slices.Sort(out.Kustomizations)
	slices.Sort(out.Namespaces)
	return out
}
