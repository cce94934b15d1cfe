// Package component renders the model into units: one Kustomize folder and
// one Flux Kustomization each. There is one file per component (metallb.go,
// nuclio.go, ...), and each is a pure function of the model: the same
// model always gives the same objects, and nothing but the model is read.
package component

import (
	"fmt"
	"slices"
	"strings"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// Unit is one Kustomize folder under clusters/<cluster>/<layer>/<name> and
// the Flux Kustomization that applies it.
type Unit struct {
	// Name names the folder and the Flux Kustomization.
	Name string
	// Layer is the folder's parent: infrastructure or apps.
	Layer string
	// Objects are the folder's contents, one file each.
	Objects []kube.Object
	// Provides lists what other units may need from this one, as
	// dependency keys (APIGroup, StorageClass, Namespace).
	Provides []string
	// Needs lists dependency keys that the objects alone do not show,
	// such as the StorageClass a chart's volumes use.
	Needs []string
	// Decrypt asks Flux to decrypt SOPS-encrypted files in the folder.
	Decrypt bool
	// Health lists objects Flux waits for instead of every applied one.
	// Empty means Flux waits for all of the unit's objects.
	Health []kube.Object
	// Timeout bounds how long Flux waits for the unit to become healthy.
	Timeout string
}

// Dependency keys: what a unit provides and what another needs.

// APIGroup is the key for the CRDs of an API group.
func APIGroup(group string) string { return "api:" + group }

// StorageClass is the key for a StorageClass.
func StorageClass(name string) string { return "storage:" + name }

// Namespace is the key for a namespace created by a unit.
func Namespace(name string) string { return "namespace:" + name }

// SecretsKey is the key of the unit holding the owner's encrypted Secrets.
const SecretsKey = "secrets"

// Func renders the units of one app.
type Func func(c *model.Cluster, app model.App) ([]Unit, error)

// components maps the model's component names to their renderers.
var components = map[string]Func{
	"helm":      HelmApp,
	"container": ContainerApp,
}

// Register adds a component renderer; each component file registers its own.
func register(name string, f Func) {
	if _, dup := components[name]; dup {
		panic("component: " + name + " registered twice")
	}
	components[name] = f
}

// Render renders every app of the cluster, and the cluster-wide units
// (namespaces, the owner's secrets), in a stable order.
func Render(c *model.Cluster) ([]Unit, error) {
	policies, err := NetworkPolicies(c)
	if err != nil {
		return nil, err
	}
	units := []Unit{Namespaces(c), Secrets(c)}
	// Who renders each unit, and how its name changes, for checkUnitNames.
	owners := []unitOwner{{"the cluster's namespaces", ""}, {"the cluster's secrets", ""}}
	for _, u := range policies {
		units = append(units, u)
		owners = append(owners, unitOwner{"the NetworkPolicies of namespace " + u.Objects[0].GetNamespace(), "shorten the namespace's name"})
	}
	for _, app := range c.SortedApps() {
		f, ok := components[app.Component]
		if !ok {
			return nil, fmt.Errorf("app %s: no renderer for component %q", app.Name, app.Component)
		}
		us, err := f(c, app)
		if err != nil {
			return nil, fmt.Errorf("app %s: %w", app.Name, err)
		}
		for i := range us {
			if us[i].Layer == "" {
				us[i].Layer = app.Layer
			}
			if len(app.Secrets) > 0 {
				us[i].Needs = append(us[i].Needs, SecretsKey)
			}
		}
		units = append(units, us...)
		for range us {
			owners = append(owners, unitOwner{"app " + app.Name, "rename the app"})
		}
	}
	if err := checkUnitNames(units, owners); err != nil {
		return nil, err
	}
	return units, nil
}

// unitOwner is what renders a unit, and how its name can change.
type unitOwner struct{ who, rename string }

// maxUnitName is the longest name a unit can have: kustomize-controller
// labels every object it applies with its Kustomization's name
// (kustomize.toolkit.fluxcd.io/name), and a label value has at most 63
// characters.
const maxUnitName = 63

// checkUnitNames refuses two units of one name and names Flux cannot use.
func checkUnitNames(units []Unit, owners []unitOwner) error {
	seen := map[string]int{}
	for i, u := range units {
		if j, dup := seen[u.Name]; dup {
			return fmt.Errorf("%s and %s would both render Flux Kustomization %s; %s", owners[j].who, owners[i].who, u.Name, owners[i].rename)
		}
		seen[u.Name] = i
		if len(u.Name) > maxUnitName {
			return fmt.Errorf("%s would render Flux Kustomization %s, whose name has %d characters: Flux labels what it applies with the name (kustomize.toolkit.fluxcd.io/name), and a label value has at most %d; %s",
				owners[i].who, u.Name, len(u.Name), maxUnitName, owners[i].rename)
		}
	}
	return nil
}

// appUnit is the usual single unit of an app: its objects, what the model
// says it provides, and the StorageClass its volumes use.
func appUnit(app model.App, objects ...kube.Object) Unit {
	u := Unit{Name: app.Name, Layer: app.Layer, Objects: objects}
	for _, g := range app.Provides.APIGroups {
		u.Provides = append(u.Provides, APIGroup(g))
	}
	for _, sc := range app.Provides.StorageClasses {
		u.Provides = append(u.Provides, StorageClass(sc))
	}
	if app.StorageClass != "" && !slices.Contains(app.Provides.StorageClasses, app.StorageClass) {
		u.Needs = append(u.Needs, StorageClass(app.StorageClass))
	}
	return u
}

// setting reads a string from an app's settings, with a default.
func setting(app model.App, key, fallback string) string {
	if v, ok := app.Settings[key].(string); ok && v != "" {
		return v
	}
	return fallback
}

// settingList reads a list of strings from an app's settings.
func settingList(app model.App, key string) []string {
	raw, _ := app.Settings[key].([]any)
	var out []string
	for _, v := range raw {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// workload finds an app's workload by name.
func workload(app model.App, name string) (model.Workload, error) {
	for _, w := range app.Workloads {
		if w.Name == name {
			return w, nil
		}
	}
	var names []string
	for _, w := range app.Workloads {
		names = append(names, w.Name)
	}
	return model.Workload{}, fmt.Errorf("the %s component needs a workload named %q; the app has %s", app.Component, name, strings.Join(names, ", "))
}
