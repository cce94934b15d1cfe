// Package component renders the model's apps into units: one Kustomize
// folder and one Flux Kustomization each. There is one file per
// component (metallb.go, nuclio.go, ...), each with one registry entry
// beside its renderer, and each renderer is a pure function of the model:
// the same model always gives the same objects, and nothing but the model
// is read. A component's CUE definition (cue/schema/<component>.cue) says
// what its apps hold; its Go file says how they render.
package component

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/kustomize"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// Unit is one Kustomize folder under clusters/<cluster>/<layer>/<name> and
// the Flux Kustomization that applies it, with what is special about it.
type Unit struct {
	// Name names the folder and the Flux Kustomization.
	Name string
	// Layer is the folder's parent: infrastructure or apps.
	Layer string
	// Objects are the folder's contents, one file each.
	Objects []kube.Object
	// Files are written into the folder beside the objects, such as a
	// README; Flux does not apply them.
	Files map[string][]byte
	// OwnerFiles says the folder holds the owner's own files (the
	// SOPS-encrypted Secrets): the renderer writes no kustomization.yaml
	// there, so Flux applies every file the owner puts in it.
	OwnerFiles bool

	// Provides lists what other units may need from this one.
	Provides []Key
	// Needs lists what the unit needs that its objects alone do not show,
	// such as the StorageClass a chart's volumes use.
	Needs []Need

	// Decrypt asks Flux to decrypt SOPS-encrypted files in the folder.
	Decrypt bool
	// Health lists objects Flux waits for instead of every applied one.
	// Empty means Flux waits for all of the unit's objects.
	Health []kube.Object
	// HealthExprs tell Flux how to read the health of custom resources
	// whose status has no conditions (CEL, kustomize-controller v1.9).
	HealthExprs []kustomize.CustomHealthCheck
	// Timeout bounds how long Flux waits for the unit to become healthy;
	// zero means the renderer's default.
	Timeout time.Duration

	// Pods are the pods that what the unit applies creates at run time
	// (a chart's, Nuclio's), which the tree itself does not show: the
	// model says so, and Services and the chart checks match them.
	Pods []kube.PodLabels
	// RuntimeSecrets are Secrets, in the unit's namespace, that its
	// software creates at run time (MetalLB's controller makes the
	// speakers' memberlist key): pods may read them though neither the
	// tree nor the owner holds them.
	RuntimeSecrets []string
	// ValueOrigins say which model value each Helm value the component
	// computes comes from, by dotted values path (a path covers the
	// values under it): where render -charts reports a value the chart
	// never reads. A value of the owner's helm.values is reported there,
	// any other at the app's settings.
	ValueOrigins map[string]model.Path

	// Origin is the model value the unit is rendered from, where a
	// problem with the unit is reported; Owner names it in messages, and
	// Rename says how its name can change.
	Origin model.Path
	Owner  string
	Rename string
}

// Key is a dependency key: something a unit provides and another needs.
type Key string

// APIGroup is the key for the CRDs of an API group.
func APIGroup(group string) Key { return Key("api:" + group) }

// StorageClass is the key for a StorageClass.
func StorageClass(name string) Key { return Key("storage:" + name) }

// Namespace is the key for a namespace created by a unit.
func Namespace(name string) Key { return Key("namespace:" + name) }

// NuclioProject is the key for a Nuclio project in a namespace.
func NuclioProject(namespace, name string) Key {
	return Key("nuclio-project:" + namespace + "/" + name)
}

// SecretsKey is the key of the unit holding the owner's encrypted Secrets.
const SecretsKey Key = "secrets"

// Need is a dependency a unit must have, and the model value that causes it.
type Need struct {
	Key Key
	At  model.Path
}

// Pod is a set of pods a component's software creates at run time (a
// controller's pods, a chart's Jobs), which the model must describe as a
// helper of the app when the app's namespace has a default deny.
type Pod struct {
	// What says what the pods are, in messages.
	What string
	// Labels are the labels the pods carry, as the helper's selector.
	Labels map[string]string
	// APIServer says the pods talk to the Kubernetes API.
	APIServer bool
}

// Definition is what a component's file registers: its name (the app's
// component), the block of the app it renders from, the pods its software
// creates, and its renderer, which receives the app's settings decoded
// into S, the settings type of the component's CUE definition.
type Definition[S any] struct {
	Name string
	// Block is the block the app must have: "helm", "container",
	// "function", "image", or empty for none.
	Block string
	// Pods lists the pods the model must describe when the app's
	// namespace has a default deny; nil for none.
	Pods func(app *model.App) []Pod
	// Places says the renderer puts the workloads' pods where their
	// placement asks (a node, GPUs). A component that renders a chart
	// without setting where its pods run cannot: a placement there would
	// be ignored, so it is refused.
	Places bool
	// ChartPods says a chart creates the pods of the app's own unit, as
	// its workloads and helpers select them (chartPods): RenderApp sets
	// the unit's Pods to those.
	ChartPods bool
	// Render renders the app's units.
	Render func(m *model.Model, app *model.App, settings S) ([]Unit, error)
}

// entry is a registered component, its settings type erased.
type entry struct {
	block     string
	pods      func(app *model.App) []Pod
	places    bool
	chartPods bool
	render    func(m *model.Model, app *model.App) ([]Unit, error)
}

var registry = map[string]entry{}

// register adds a component; each component's file registers its own.
func register[S any](d Definition[S]) {
	if _, dup := registry[d.Name]; dup {
		panic("component: " + d.Name + " registered twice")
	}
	registry[d.Name] = entry{block: d.Block, pods: d.Pods, places: d.Places, chartPods: d.ChartPods, render: func(m *model.Model, app *model.App) ([]Unit, error) {
		settings, err := decodeSettings[S](app)
		if err != nil {
			return nil, err
		}
		return d.Render(m, app, settings)
	}}
}

// decodeSettings decodes an app's settings strictly into its component's
// settings type. The CUE definition has typed them already; for a model
// built in Go, this is where a misspelt setting (encoding/json alone
// would take hostName for hostname) or a missing one (a field whose json
// tag has no omitempty) is refused.
func decodeSettings[S any](app *model.App) (S, error) {
	var settings S
	fields := settingFields(reflect.TypeFor[S]())
	var raw map[string]json.RawMessage
	if len(app.Settings) > 0 {
		if err := json.Unmarshal(app.Settings, &raw); err != nil {
			return settings, model.Problemf(app.Path("settings"), "the %s component's settings are not an object: %v", app.Component, err)
		}
	}
	var problems model.Problems
	names := slices.Sorted(maps.Keys(fields))
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		switch _, ok := fields[k]; {
		case ok:
		case len(names) == 0:
			problems.Add(nil, model.Problemf(app.Path("settings", k), "the %s component reads no settings; drop settings", app.Component))
		default:
			problems.Add(nil, model.Problemf(app.Path("settings", k), "the %s component has no setting %s%s; it reads %s",
				app.Component, k, model.DidYouMean(k, names), strings.Join(names, ", ")))
		}
	}
	for _, k := range names {
		if fields[k] && (len(raw[k]) == 0 || string(raw[k]) == "null" || string(raw[k]) == `""`) {
			problems.Add(nil, model.Problemf(app.Path("settings", k), "the %s component needs settings.%s", app.Component, k))
		}
	}
	if len(problems) > 0 {
		return settings, problems
	}
	if len(app.Settings) > 0 {
		if err := json.Unmarshal(app.Settings, &settings); err != nil {
			return settings, model.Problemf(app.Path("settings"), "the %s component cannot read these settings (%v); check them against cue/schema/%s.cue", app.Component, err, app.Component)
		}
	}
	return settings, checkQuantities(app, settings)
}

// checkQuantities checks every quantity of an app's settings (a field of
// type model.Quantity) as the API server will parse it, where the owner
// wrote it: a chart given "1GB" installs, then fails.
func checkQuantities(app *model.App, settings any) error {
	v := reflect.ValueOf(settings)
	if v.Kind() != reflect.Struct {
		return nil
	}
	var problems model.Problems
	for f, value := range v.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		q, ok := value.Interface().(model.Quantity)
		if !ok || q == "" {
			continue
		}
		if err := model.CheckQuantity(string(q)); err != nil {
			problems.Add(app.Path("settings", name), err)
		}
	}
	return problems.Err()
}

// settingFields maps the JSON names of a settings type's fields to
// whether each is required (its json tag has no omitempty).
func settingFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = !strings.Contains(opts, "omitempty")
	}
	return out
}

// Names lists the registered components.
func Names() []string {
	var out []string
	for name := range registry {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// RequiredPods lists the pods an app's component creates that the model
// must describe when its namespace has a default deny.
func RequiredPods(app *model.App) []Pod {
	if e, ok := registry[app.Component]; ok && e.pods != nil {
		return e.pods(app)
	}
	return nil
}

// Render renders every app of the cluster, and the cluster-wide units
// (namespaces, the owner's secrets), in a stable order. It reports every
// problem of every app, not the first.
func Render(m *model.Model) ([]Unit, error) {
	units := []Unit{Namespaces(m), Secrets(m)}
	var problems model.Problems
	for _, app := range m.Apps {
		us, err := RenderApp(m, app)
		problems.Add(app.Path(), err)
		units = append(units, us...)
	}
	return units, problems.Err()
}

// RenderApp renders one app with its component.
func RenderApp(m *model.Model, app *model.App) ([]Unit, error) {
	e, ok := registry[app.Component]
	if !ok {
		return nil, model.Problemf(app.Path("component"), "no renderer for component %q; use one of %v", app.Component, Names())
	}
	if !hasBlock(app, e.block) {
		return nil, model.Problemf(app.Path(), "app %s is a %s component and needs a %s block", app.Name, app.Component, e.block)
	}
	if !e.places {
		var problems model.Problems
		for i, w := range app.Workloads {
			if w.Placement != (model.Placement{}) {
				problems.Add(nil, model.Problemf(app.Path("workloads", i, "placement"), "%s/%s has a placement, which the %s component would ignore: %s; drop it%s",
					app.Name, w.Name, app.Component, notPlaced(app), placeInstead(app)))
			}
		}
		if len(problems) > 0 {
			return nil, problems
		}
	}
	units, err := e.render(m, app)
	if err != nil {
		return nil, err
	}
	for i := range units {
		u := &units[i]
		if u.Layer == "" {
			u.Layer = app.Layer
		}
		if u.Origin == nil {
			u.Origin = app.Path()
		}
		if u.Owner == "" {
			u.Owner, u.Rename = "app "+app.Name, "rename the app"
		}
		if e.chartPods && u.Name == app.Name {
			u.Pods = chartPods(app)
		}
		// The app's own unit runs what reads its Secrets.
		if len(app.Secrets) > 0 && u.Name == app.Name {
			u.Needs = append(u.Needs, Need{SecretsKey, app.Path("secrets")})
		}
	}
	return units, nil
}

// notPlaced says why a component's pods are not placed by the model.
func notPlaced(app *model.App) string {
	switch {
	case app.Helm != nil:
		return "the chart's own values decide where its pods run"
	case app.Image != "":
		return "it places its pods itself"
	}
	return "it renders no pods"
}

// placeInstead says how to place the pods of a component that does not.
func placeInstead(app *model.App) string {
	if app.Component == "helm" {
		return ", and set the chart's own values instead (helm: values:, such as nodeSelector and tolerations, as the chart names them)"
	}
	return ""
}

func hasBlock(app *model.App, block string) bool {
	switch block {
	case "helm":
		return app.Helm != nil
	case "container":
		return app.Container != nil
	case "function":
		return app.Function != nil
	case "image":
		return app.Image != ""
	}
	return true
}

// maxUnitName is the longest name a unit can have: kustomize-controller
// labels every object it applies with its Kustomization's name
// (kustomize.toolkit.fluxcd.io/name), and a label value has at most 63
// characters.
const maxUnitName = 63

// CheckNames refuses two units of one name and names Flux cannot use.
func CheckNames(units []Unit) error {
	var problems model.Problems
	seen := map[string]int{}
	for i, u := range units {
		if j, dup := seen[u.Name]; dup {
			p := model.Problemf(u.Origin, "%s and %s would both render Flux Kustomization %s; %s", units[j].Owner, u.Owner, u.Name, u.Rename)
			p.Related = []model.Path{units[j].Origin}
			problems = append(problems, p)
			continue
		}
		seen[u.Name] = i
		if len(u.Name) > maxUnitName {
			problems = append(problems, model.Problemf(u.Origin, "%s would render Flux Kustomization %s, whose name has %d characters: Flux labels what it applies with the name (kustomize.toolkit.fluxcd.io/name), and a label value has at most %d; %s",
				u.Owner, u.Name, len(u.Name), maxUnitName, u.Rename))
		}
	}
	return problems.Err()
}

// appUnit is the usual single unit of an app: its objects, what the model
// says it provides, and the StorageClass its volumes use.
func appUnit(app *model.App, objects ...kube.Object) Unit {
	u := Unit{Name: app.Name, Layer: app.Layer, Objects: objects}
	for _, g := range app.Provides.APIGroups {
		u.Provides = append(u.Provides, APIGroup(g))
	}
	for _, sc := range app.Provides.StorageClasses {
		u.Provides = append(u.Provides, StorageClass(sc))
	}
	if app.StorageClass != "" && !slices.Contains(app.Provides.StorageClasses, app.StorageClass) {
		u.Needs = append(u.Needs, Need{StorageClass(app.StorageClass), app.Path("storageClass")})
	}
	return u
}

// soleWorkload returns the app's only workload.
func soleWorkload(app *model.App) (model.PodSet, error) {
	if len(app.Workloads) != 1 {
		return model.PodSet{}, model.Problemf(app.Path("workloads"), "the %s component runs one workload, and the app declares %d", app.Component, len(app.Workloads))
	}
	return app.WorkloadSets()[0], nil
}

// workload finds an app's workload by name.
func workload(app *model.App, name string) (model.PodSet, error) {
	if s, ok := app.Workload(name); ok {
		return s, nil
	}
	var names []string
	for _, w := range app.Workloads {
		names = append(names, w.Name)
	}
	return model.PodSet{}, model.Problemf(app.Path("workloads"), "the %s component needs a workload named %q; the app has %v%s", app.Component, name, names, model.DidYouMean(name, names))
}

// noLoadBalancers refuses LoadBalancers on the workloads of a component
// that exposes none.
func noLoadBalancers(app *model.App) error {
	for _, s := range app.PodSets() {
		if len(s.Workload.LoadBalancers) > 0 {
			return model.Problemf(s.Path("loadBalancers"), "%s declares a LoadBalancer, which the %s component does not expose; drop it", s.Key(), app.Component)
		}
	}
	return nil
}
