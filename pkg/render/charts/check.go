package charts

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/verify"
)

// Report is what the checks of a cluster's rendered charts found.
type Report struct {
	// Problems are what is wrong, each at the model value to change.
	Problems model.Problems
	// Notes are what the checks could not check, and why.
	Notes []string
	// Checked counts what the checks looked at.
	Checked Counts
}

// Counts are what the checks looked at.
type Counts struct {
	// PodTemplates are the pod templates the charts render, PodSets the
	// workloads and helpers matched against them.
	PodTemplates, PodSets int
	LoadBalancers         int
	// References are what the charts' pods read from Secrets and ConfigMaps.
	References int
	// Objects are the chart objects compared with every other object.
	Objects int
	// Values are the values the project sets (leaves of spec.values).
	Values int
	// Pairs are the source, destination and port triples cyclonus judged.
	Pairs int
}

// String says what was checked, in a sentence.
func (c Counts) String() string {
	return fmt.Sprintf("%d workloads and helpers against %d pod templates, %d LoadBalancers, %d Secret and ConfigMap references, %d chart objects, %d values, %d network flows (pairs of pods and ports)",
		c.PodSets, c.PodTemplates, c.LoadBalancers, c.References, c.Objects, c.Values, c.Pairs)
}

func (r *Report) add(p *model.Problem) { r.Problems = append(r.Problems, p) }

func (r *Report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Input is what the checks read: the model, its units, the verified tree
// and the releases its charts render (RenderTree).
type Input struct {
	Model    *model.Model
	Units    []component.Unit
	Built    *verify.Built
	Rendered []*Rendered
}

// Check holds the model against what the charts really render:
//
//   - every workload and helper of an app installed by a chart selects
//     pods the chart renders (hooks included), unless the model says a
//     controller creates them at run time (createdBy), and those pods
//     listen on every port the model declares;
//   - every LoadBalancer of the model is a Service of type LoadBalancer
//     on its IP, and its ports land on ports the selected pods listen on;
//   - every Secret and ConfigMap a rendered pod reads exists: rendered by
//     a chart or the tree, declared by the owner, or made at run time;
//   - no chart object is also another unit's, another chart's or an
//     owner's Secret;
//   - every value the project sets is read by some template of the chart;
//   - the network policies, over the pods as the charts label them,
//     allow every declared flow and deny every other pair.
//
// Every problem names the model value to change.
func Check(in Input) (*Report, error) {
	c, err := newChecker(in)
	if err != nil {
		return nil, err
	}
	c.workloads()
	c.loadBalancers()
	c.references()
	c.collisions()
	if err := c.values(); err != nil {
		return nil, err
	}
	if err := c.policies(); err != nil {
		return nil, err
	}
	return c.report, nil
}

type checker struct {
	Input
	report *Report
	// pods are every pod template: the charts', then the tree's own.
	pods []*pod
	// appOf maps a unit to the app it is rendered from.
	appOf map[string]*model.App
	// releases are the rendered releases by app.
	releases map[string][]*Rendered
	// units are the units by name; charted counts each's releases.
	units   map[string]component.Unit
	charted map[string]int
}

func newChecker(in Input) (*checker, error) {
	c := &checker{Input: in, report: &Report{}, appOf: map[string]*model.App{}, releases: map[string][]*Rendered{},
		units: map[string]component.Unit{}, charted: map[string]int{}}
	for _, u := range in.Units {
		c.units[u.Name] = u
		if len(u.Origin) >= 2 && u.Origin[0] == "apps" {
			if name, ok := u.Origin[1].(string); ok {
				c.appOf[u.Name] = in.Model.App(name)
			}
		}
	}
	for _, r := range in.Rendered {
		c.charted[r.Unit]++
		if app := c.appOf[r.Unit]; app != nil {
			c.releases[app.Name] = append(c.releases[app.Name], r)
		}
	}
	pods, err := chartPods(in.Rendered)
	if err != nil {
		return nil, err
	}
	c.report.Checked.PodTemplates = len(pods)
	c.pods = append(pods, treePods(in.Built.Objects)...)
	return c, nil
}

// chartApps are the apps a chart installs, in the model's order.
func (c *checker) chartApps() []*model.App {
	var out []*model.App
	for _, app := range c.Model.Apps {
		if len(c.releases[app.Name]) > 0 {
			out = append(out, app)
		}
	}
	return out
}

// charts names an app's charts: "chart cvat 2.56.1".
func (c *checker) charts(app *model.App) string {
	var names []string
	for _, r := range c.releases[app.Name] {
		names = append(names, r.ChartName())
	}
	return strings.Join(names, " and ")
}

// appPods are the pod templates of an app's charts and units, in its namespace.
func (c *checker) appPods(app *model.App) []*pod {
	var out []*pod
	for _, p := range c.pods {
		if p.Namespace == app.Namespace && c.appOf[p.Unit] == app {
			out = append(out, p)
		}
	}
	return out
}

// selected are the pod templates in a namespace that carry a selector's labels.
func (c *checker) selected(namespace string, selector map[string]string) []*pod {
	var out []*pod
	for _, p := range c.pods {
		if p.Namespace == namespace && matches(selector, p.Labels) {
			out = append(out, p)
		}
	}
	return out
}

// workloads checks that every workload and helper of an app a chart
// installs selects pods its chart renders, and that they listen on the
// ports the model declares.
func (c *checker) workloads() {
	for _, app := range c.chartApps() {
		mine := c.appPods(app)
		for _, s := range app.PodSets() {
			w := s.Workload
			if w.CreatedBy != "" {
				continue
			}
			c.report.Checked.PodSets++
			var found []*pod
			for _, p := range mine {
				if matches(w.Selector, p.Labels) {
					found = append(found, p)
				}
			}
			if len(found) == 0 {
				c.report.add(model.Problemf(s.Path("selector"), "%s selects %s, and none of the pods %s renders carries those labels%s; select labels its pods carry, or, if a controller creates these pods at run time, say which with createdBy",
					s.Key(), labelString(w.Selector), c.charts(app), closest(w.Selector, mine)))
				continue
			}
			c.ports(s, found)
		}
	}
}

// closest names the pod templates that carry most of a selector's labels.
func closest(selector map[string]string, pods []*pod) string {
	best, score := []*pod(nil), 0
	for _, p := range pods {
		n := 0
		for k, v := range selector {
			if p.Labels[k] == v {
				n++
			}
		}
		switch {
		case n > score:
			best, score = []*pod{p}, n
		case n == score && n > 0:
			best = append(best, p)
		}
	}
	if len(best) == 0 {
		if len(pods) == 0 {
			return " (it renders no pods in namespace)"
		}
		best = pods
	}
	var s []string
	for i, p := range best {
		if i == 3 {
			s = append(s, fmt.Sprintf("and %d more", len(best)-3))
			break
		}
		s = append(s, fmt.Sprintf("%s {%s}", p, labelString(p.Labels)))
	}
	return "; the closest: " + strings.Join(s, "; ")
}

// ports checks that the pods a pod set selects listen on its ports.
func (c *checker) ports(s model.PodSet, pods []*pod) {
	declared := false
	var all []listen
	for _, p := range pods {
		ls := p.listens()
		declared = declared || len(ls) > 0
		for _, l := range ls {
			if !slices.ContainsFunc(all, func(o listen) bool { return o.Port == l.Port && o.Protocol == l.Protocol }) {
				all = append(all, l)
			}
		}
	}
	slices.SortFunc(all, func(a, b listen) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), strings.Compare(string(a.Protocol), string(b.Protocol)))
	})
	for i, port := range s.Workload.Ports {
		proto := corev1.Protocol(port.ProtocolOrTCP())
		ok := slices.ContainsFunc(all, func(l listen) bool {
			return l.Protocol == proto && port.Covers(l.Port)
		})
		switch {
		case ok:
		case !declared:
			c.report.note("%s: port %s (%s/%s): %s declare no container port and no probe", s.Key(), port.Name, port.PodPorts(), proto, podList(pods))
		default:
			fix := ""
			if len(all) == 1 && !port.IsRange() {
				fix = fmt.Sprintf("; set targetPort: %d", all[0].Port)
				if port.TargetPort == port.Port {
					fix = fmt.Sprintf("; set targetPort: %d (or port: %d)", all[0].Port, all[0].Port)
				}
			}
			c.report.add(model.Problemf(s.Path("ports", i, "port"), "%s: port %s sends to %s/%s, where its pods do not listen: they listen on %s, as %s renders them%s",
				s.Key(), port.Name, port.PodPorts(), proto, listenString(all), podList(pods), fix))
		}
	}
}

func podList(pods []*pod) string {
	var s []string
	for i, p := range pods {
		if i == 3 {
			s = append(s, fmt.Sprintf("%d more", len(pods)-3))
			break
		}
		s = append(s, p.Describe())
	}
	if len(pods) == 1 {
		return s[0]
	}
	return strings.Join(s, ", ")
}

// service is a Service the tree or a chart renders.
type service struct {
	Namespace, Name string
	Spec            corev1.ServiceSpec
	Annotations     map[string]string
	From            string
}

func (c *checker) services() []service {
	var out []service
	for _, r := range c.Rendered {
		for _, o := range r.Objects {
			if o.GetKind() != "Service" || o.GroupVersionKind().Group != "" {
				continue
			}
			var svc corev1.Service
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &svc); err != nil {
				continue
			}
			out = append(out, service{svc.Namespace, svc.Name, svc.Spec, svc.Annotations, r.origin(o.Template)})
		}
	}
	for _, o := range c.Built.Objects {
		if svc, ok := o.Typed.(*corev1.Service); ok {
			out = append(out, service{svc.Namespace, svc.Name, svc.Spec, svc.Annotations, "Kustomization " + o.Unit})
		}
	}
	return out
}

// loadBalancers checks that each LoadBalancer of an app a chart installs
// is a Service of type LoadBalancer on its IP, whose ports reach ports
// the workload's pods listen on.
func (c *checker) loadBalancers() {
	services := c.services()
	for _, app := range c.Model.Apps {
		charted := len(c.releases[app.Name]) > 0
		for _, s := range app.PodSets() {
			for li, lb := range s.Workload.LoadBalancers {
				at := s.Path("loadBalancers", li)
				ip := lb.IP.String()
				c.report.Checked.LoadBalancers++
				var svc *service
				for i := range services {
					for _, a := range strings.Split(services[i].Annotations[component.LoadBalancerIPsAnnotation], ",") {
						if strings.TrimSpace(a) == ip {
							svc = &services[i]
						}
					}
				}
				switch {
				case svc == nil && !charted:
					c.report.note("%s: the LoadBalancer on %s: nothing in the tree renders its Service (app %s's component configures software the tree does not hold)", s.Key(), ip, app.Name)
					continue
				case svc == nil:
					c.report.add(model.Problemf(at.With("ip"), "%s: no Service carries the LoadBalancer IP %s (annotation %s): neither %s nor the app's unit renders one; the chart's values must make a Service of type LoadBalancer with that annotation, or the component must render one",
						s.Key(), ip, component.LoadBalancerIPsAnnotation, c.charts(app)))
					continue
				case svc.Spec.Type != corev1.ServiceTypeLoadBalancer:
					c.report.add(model.Problemf(at.With("ip"), "%s: Service %s/%s (%s) carries the LoadBalancer IP %s, and is of type %s, so MetalLB never gives it that IP; it must be of type LoadBalancer",
						s.Key(), svc.Namespace, svc.Name, svc.From, ip, cmp.Or(string(svc.Spec.Type), "ClusterIP")))
					continue
				}
				c.serviceReaches(s, at, lb, svc)
			}
		}
	}
}

// serviceReaches checks that a LoadBalancer's Service selects the
// workload's pods and sends each declared port to a port they listen on.
func (c *checker) serviceReaches(s model.PodSet, at model.Path, lb model.LoadBalancer, svc *service) {
	name := fmt.Sprintf("Service %s/%s (%s)", svc.Namespace, svc.Name, svc.From)
	pods := c.selected(svc.Namespace, svc.Spec.Selector)
	if len(svc.Spec.Selector) == 0 || len(pods) == 0 {
		if len(svc.Spec.Selector) > 0 && s.Workload.CreatedBy != "" && matches(svc.Spec.Selector, s.Workload.Selector) {
			c.report.note("%s: the ports of the LoadBalancer on %s: %s selects pods created at run time", s.Key(), lb.IP, name)
			return
		}
		c.report.add(model.Problemf(at.With("ip"), "%s: the LoadBalancer on %s is %s, which selects no pod the charts or the tree render (selector %s)", s.Key(), lb.IP, name, labelString(svc.Spec.Selector)))
		return
	}
	mine := slices.DeleteFunc(slices.Clone(pods), func(p *pod) bool { return !matches(s.Workload.Selector, p.Labels) })
	if len(mine) == 0 {
		c.report.add(model.Problemf(at.With("ip"), "%s: the LoadBalancer on %s is %s, which selects %s, none of them the workload's pods (%s)",
			s.Key(), lb.IP, name, podList(pods), labelString(s.Workload.Selector)))
		return
	}
	for pi, lp := range lb.Ports {
		i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return int(p.Port) == lp.Port })
		if i < 0 {
			var have []string
			for _, p := range svc.Spec.Ports {
				have = append(have, fmt.Sprint(p.Port))
			}
			c.report.add(model.Problemf(at.With("ports", pi, "port"), "%s: the LoadBalancer on %s exposes %s on port %d, and %s has ports %s", s.Key(), lb.IP, lp.Name, lp.Port, name, strings.Join(have, ", ")))
			continue
		}
		sp := svc.Spec.Ports[i]
		proto := cmp.Or(sp.Protocol, corev1.ProtocolTCP)
		var reached []string
		var missed []string
		for _, p := range mine {
			target, ok := servicePort(sp, p)
			if ok && slices.ContainsFunc(p.listens(), func(l listen) bool { return l.Port == target && l.Protocol == proto }) {
				reached = append(reached, p.String())
				continue
			}
			what := fmt.Sprintf("targetPort %s is no port of it", sp.TargetPort.String())
			if ok {
				what = fmt.Sprintf("it does not listen on %d/%s (it listens on %s)", target, proto, cmp.Or(listenString(p.listens()), "nothing it declares"))
			}
			if ok && len(p.listens()) == 0 {
				c.report.note("%s: port %d of the LoadBalancer on %s, on %s: it declares no container port and no probe", s.Key(), lp.Port, lb.IP, p)
				reached = append(reached, p.String())
				continue
			}
			missed = append(missed, fmt.Sprintf("%s: %s", p, what))
		}
		if len(reached) == 0 {
			c.report.add(model.Problemf(at.With("ports", pi), "%s: port %d of the LoadBalancer on %s is %s port %d, which reaches none of the workload's pods: %s",
				s.Key(), lp.Port, lb.IP, name, sp.Port, strings.Join(missed, "; ")))
		}
	}
}

// servicePort resolves a Service port's targetPort on a pod.
func servicePort(sp corev1.ServicePort, p *pod) (int, bool) {
	switch {
	case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "":
		return p.namedPort(sp.TargetPort.StrVal)
	case sp.TargetPort.IntVal != 0:
		return int(sp.TargetPort.IntVal), true
	}
	return int(sp.Port), true
}

// provided is a Secret or ConfigMap that exists, and its keys when known.
type provided struct {
	keys []string // nil: unknown
	by   string
	// app and index: the owner's declaration, for a missing key.
	app   *model.App
	index int
}

// references checks that every Secret and ConfigMap a rendered pod reads
// is there when the pod starts.
func (c *checker) references() {
	have := map[string][]provided{} // kind/namespace/name
	key := func(kind, ns, name string) string { return kind + "/" + ns + "/" + name }
	for _, r := range c.Rendered {
		for _, o := range r.Objects {
			if kind := o.GetKind(); (kind == "Secret" || kind == "ConfigMap") && o.GroupVersionKind().Group == "" {
				k := key(kind, o.GetNamespace(), o.GetName())
				have[k] = append(have[k], provided{keys: dataKeys(o.Unstructured), by: r.origin(o.Template)})
			}
		}
	}
	for _, o := range c.Built.Objects {
		var keys []string
		switch t := o.Typed.(type) {
		case *corev1.Secret:
			keys = slices.Concat(slices.Collect(maps.Keys(t.Data)), slices.Collect(maps.Keys(t.StringData)))
		case *corev1.ConfigMap:
			keys = slices.Concat(slices.Collect(maps.Keys(t.Data)), slices.Collect(maps.Keys(t.BinaryData)))
		default:
			continue
		}
		k := key(o.Kind, o.Namespace, o.Name)
		have[k] = append(have[k], provided{keys: keys, by: "Kustomization " + o.Unit})
	}
	for _, app := range c.Model.Apps {
		for i, s := range app.Secrets {
			k := key("Secret", app.Namespace, s.Name)
			have[k] = append(have[k], provided{keys: s.Keys, by: "the owner (app " + app.Name + "'s secrets)", app: app, index: i})
		}
	}
	for _, u := range c.Units {
		for _, name := range u.RuntimeSecrets {
			for _, ns := range unitNamespaces(u) {
				have[key("Secret", ns, name)] = append(have[key("Secret", ns, name)], provided{by: u.Owner + "'s software, at run time"})
			}
		}
	}

	reported := map[string]bool{}
	for _, p := range c.pods {
		if p.Release == nil {
			continue // the tree's own pods read what the model declares
		}
		app := c.appOf[p.Unit]
		for _, ref := range podReads(p.Spec) {
			c.report.Checked.References++
			if ref.optional {
				continue
			}
			// Kubernetes puts this ConfigMap in every namespace (the
			// root CA controller of kube-controller-manager).
			if ref.kind == "ConfigMap" && ref.name == "kube-root-ca.crt" {
				continue
			}
			ps := have[key(ref.kind, p.Namespace, ref.name)]
			if len(ps) == 0 {
				id := p.String() + ref.kind + ref.name
				if reported[id] {
					continue
				}
				reported[id] = true
				at := model.Path{"apps"}
				if app != nil {
					at = app.Path("secrets")
				}
				what := "declare it in the app's secrets with the keys the pods read"
				if ref.kind == "ConfigMap" {
					what = "make the chart's values render it"
					if app != nil {
						at = app.Path()
					}
				}
				c.report.add(model.Problemf(at, "%s reads %s %s (%s), which no chart renders, no unit of the tree renders, and no app declares: its pods would never start; %s, or turn off what runs the pods",
					p.Describe(), ref.kind, ref.name, strings.Join(podReadsOf(p.Spec, ref.kind, ref.name), "; "), what))
				continue
			}
			if ref.key == "" || slices.ContainsFunc(ps, func(pr provided) bool { return pr.keys == nil || slices.Contains(pr.keys, ref.key) }) {
				continue
			}
			pr := ps[0]
			at := model.Path{"apps"}
			if app != nil {
				at = app.Path()
			}
			if i := slices.IndexFunc(ps, func(pr provided) bool { return pr.app != nil }); i >= 0 {
				pr = ps[i]
				at = pr.app.Path("secrets", pr.index, "keys")
			}
			c.report.add(model.Problemf(at, "%s reads key %s of %s %s (%s), which %s provides without that key; add key %s",
				p.Describe(), ref.key, ref.kind, ref.name, ref.how, pr.by, ref.key))
		}
	}
}

// unitNamespaces are the namespaces of a unit's objects.
func unitNamespaces(u component.Unit) []string {
	var out []string
	for _, o := range u.Objects {
		if ns := o.GetNamespace(); ns != "" && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	return out
}

func dataKeys(u *unstructured.Unstructured) []string {
	var keys []string
	for _, field := range []string{"data", "stringData", "binaryData"} {
		m, _, _ := unstructured.NestedMap(u.Object, field)
		keys = append(keys, slices.Collect(maps.Keys(m))...)
	}
	return keys
}

// read is a Secret or ConfigMap a pod reads.
type read struct {
	kind, name, key string // key "" for the whole object
	optional        bool
	how             string
}

// podReads lists what a pod spec reads from Secrets and ConfigMaps: env
// (valueFrom), envFrom and volumes, projected ones included.
func podReads(spec corev1.PodSpec) []read {
	var out []read
	opt := func(b *bool) bool { return b != nil && *b }
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				out = append(out, read{"Secret", r.Name, r.Key, opt(r.Optional), "key " + r.Key + " in env " + e.Name + " of container " + c.Name})
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				out = append(out, read{"ConfigMap", r.Name, r.Key, opt(r.Optional), "key " + r.Key + " in env " + e.Name + " of container " + c.Name})
			}
		}
		for _, e := range c.EnvFrom {
			if r := e.SecretRef; r != nil {
				out = append(out, read{"Secret", r.Name, "", opt(r.Optional), "envFrom of container " + c.Name})
			}
			if r := e.ConfigMapRef; r != nil {
				out = append(out, read{"ConfigMap", r.Name, "", opt(r.Optional), "envFrom of container " + c.Name})
			}
		}
	}
	items := func(kind, name string, list []corev1.KeyToPath, optional bool, how string) {
		if len(list) == 0 {
			out = append(out, read{kind, name, "", optional, how})
		}
		for _, it := range list {
			out = append(out, read{kind, name, it.Key, optional, "key " + it.Key + " in " + how})
		}
	}
	for _, v := range spec.Volumes {
		switch {
		case v.Secret != nil:
			items("Secret", v.Secret.SecretName, v.Secret.Items, opt(v.Secret.Optional), "volume "+v.Name)
		case v.ConfigMap != nil:
			items("ConfigMap", v.ConfigMap.Name, v.ConfigMap.Items, opt(v.ConfigMap.Optional), "volume "+v.Name)
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if s := src.Secret; s != nil {
					items("Secret", s.Name, s.Items, opt(s.Optional), "projected volume "+v.Name)
				}
				if m := src.ConfigMap; m != nil {
					items("ConfigMap", m.Name, m.Items, opt(m.Optional), "projected volume "+v.Name)
				}
			}
		}
	}
	return out
}

// podReadsOf says every way a pod reads one object, for a message.
func podReadsOf(spec corev1.PodSpec, kind, name string) []string {
	var out []string
	for _, r := range podReads(spec) {
		if r.kind == kind && r.name == name && !r.optional && !slices.Contains(out, r.how) {
			out = append(out, r.how)
		}
	}
	return out
}

// collisions checks that no chart object is also another's: another
// unit's object, another release's, or a Secret the owner applies.
func (c *checker) collisions() {
	type owner struct {
		what string
		at   model.Path
	}
	owners := map[string]owner{}
	id := func(group, kind, ns, name string) string { return group + "/" + kind + "/" + ns + "/" + name }
	for _, o := range c.Built.Objects {
		group, _, ok := strings.Cut(o.APIVersion, "/")
		if !ok {
			group = ""
		}
		owners[id(group, o.Kind, o.Namespace, o.Name)] = owner{"Kustomization " + o.Unit, c.units[o.Unit].Origin}
	}
	for _, d := range component.DeclaredSecrets(c.Model) {
		app := c.Model.App(d.Apps[0])
		i := slices.IndexFunc(app.Secrets, func(s model.SecretRef) bool { return s.Name == d.Name })
		owners[id("", "Secret", d.Namespace, d.Name)] = owner{"the owner's (declared by app " + strings.Join(d.Apps, ", ") + ", applied by Kustomization " + component.SecretsDir + ")", app.Path("secrets", i, "name")}
	}
	for _, r := range c.Rendered {
		app := c.appOf[r.Unit]
		for _, o := range r.Objects {
			c.report.Checked.Objects++
			gvk := o.GroupVersionKind()
			k := id(gvk.Group, gvk.Kind, o.GetNamespace(), o.GetName())
			ref := gvk.Kind + " " + strings.TrimPrefix(o.GetNamespace()+"/"+o.GetName(), "/")
			if prev, ok := owners[k]; ok {
				at := prev.at
				if at == nil && app != nil {
					at = app.Path("helm")
				}
				fix := "rename one of them"
				if strings.HasPrefix(prev.what, "the owner's") {
					fix = "rename the owner's Secret, and whatever names it in the chart's values"
				}
				p := model.Problemf(at, "%s is %s, and %s (%s, %s) renders it too: Helm refuses to install over an object it does not own (or, adopting it, overwrites it with the chart's); %s",
					ref, prev.what, r.origin(o.Template), r.Install, o.Template, fix)
				if app != nil && at.String() != app.Path("helm").String() {
					p.Related = []model.Path{app.Path("helm")}
				}
				c.report.add(p)
				continue
			}
			var at model.Path
			if app != nil {
				at = app.Path("helm")
			}
			owners[k] = owner{fmt.Sprintf("rendered by %s (%s)", r.origin(o.Template), r.Install), at}
		}
	}
}

// values checks that every value the project sets is read by some
// template of the chart (or by Helm: conditions, tags, import-values).
func (c *checker) values() error {
	for _, r := range c.Rendered {
		app := c.appOf[r.Unit]
		if app == nil || len(r.Release.Values) == 0 {
			continue
		}
		reads, err := chartReads(r.enabled, r.Release.Values, append(slices.Clone(r.Subcharts), r.Disabled...))
		if _, ok := err.(budgetError); ok {
			c.report.note("%s: the values %s reads: %v", r.Install, r.ChartName(), err)
			continue
		} else if err != nil {
			return fmt.Errorf("%s: %w", r.Install, err)
		}
		type finding struct {
			at            model.Path
			leaves, hints []string
			owner         bool
		}
		var found []*finding
		c.report.Checked.Values += len(unreadValues(r.Release.Values, nil))
		for _, leaf := range unreadValues(r.Release.Values, reads) {
			at, owner := valueOrigin(app, c.units[r.Unit], leaf)
			i := slices.IndexFunc(found, func(f *finding) bool { return f.at.String() == at.String() })
			if i < 0 {
				found = append(found, &finding{at: at, owner: owner})
				i = len(found) - 1
			}
			f := found[i]
			f.leaves = append(f.leaves, strings.Join(leaf, "."))
			if parent := leaf[:len(leaf)-1]; len(parent) > 0 {
				if below := readBelow(parent, reads); len(below) > 0 {
					hint := fmt.Sprintf("under %s it reads %s", strings.Join(parent, "."), strings.Join(below, ", "))
					if !slices.Contains(f.hints, hint) {
						f.hints = append(f.hints, hint)
					}
				}
			}
		}
		for _, f := range found {
			who := "the " + app.Component + " component sets"
			if f.owner {
				who = "helm.values sets"
			}
			what, them := "value "+f.leaves[0], "it silently and the chart keeps its default"
			if len(f.leaves) > 1 {
				what, them = "values "+strings.Join(f.leaves, " and "), "them silently and the chart keeps its defaults"
			}
			hints := ""
			if len(f.hints) > 0 {
				hints = " (" + strings.Join(f.hints, "; ") + ")"
			}
			c.report.add(model.Problemf(f.at, "%s %s, which no template of %s (%s) reads: Helm ignores %s; set what the chart reads instead%s",
				who, what, r.ChartName(), r.Install, them, hints))
		}
	}
	return nil
}

// valueOrigin is where a value of a release comes from in the model: the
// owner's helm.values, the model value the component says it computes it
// from (Unit.ValueOrigins), or the app's settings.
func valueOrigin(app *model.App, u component.Unit, leaf []string) (model.Path, bool) {
	if app.Helm != nil && hasPath(app.Helm.Values, leaf) {
		p := app.Path("helm", "values")
		for _, k := range leaf {
			p = append(p, k)
		}
		return p, true
	}
	best := ""
	for prefix := range u.ValueOrigins {
		dotted := strings.Join(leaf, ".")
		if (dotted == prefix || strings.HasPrefix(dotted, prefix+".")) && len(prefix) > len(best) {
			best = prefix
		}
	}
	if best != "" {
		return u.ValueOrigins[best], false
	}
	if len(app.Settings) > 0 {
		return app.Path("settings"), false
	}
	return app.Path("component"), false
}

func hasPath(v map[string]any, p []string) bool {
	for i, k := range p {
		c, ok := v[k]
		if !ok {
			return false
		}
		if i == len(p)-1 {
			return true
		}
		if v, ok = c.(map[string]any); !ok {
			return false
		}
	}
	return false
}
