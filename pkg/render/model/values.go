package model

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The checks of single values that the schema's patterns only
// approximate, made with the parsers of the software that reads them: an
// image reference as container runtimes parse it, a quantity as the API
// server does. And the checks of a container app's references to its
// own Secrets and volumes.

// Quantity is a Kubernetes quantity, such as 500m, 2, 512Mi or 10Gi, as
// a component's settings hold one. Components' settings types use it so
// that a size or a memory request is checked where it enters the model
// (CheckQuantity), not where a chart fails to install.
type Quantity string

// CheckImage checks an image reference as container runtimes parse it
// (github.com/distribution/reference, the grammar of the Docker and OCI
// references), and that it is pinned by a tag or a digest.
func CheckImage(image string) error {
	named, err := reference.ParseNormalizedNamed(image)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not an image reference (%v): write [registry/]repository:tag or repository@sha256:<digest>, in lower case but for the tag and without spaces, such as docker.io/library/nginx:1.27", image, err)
	case reference.IsNameOnly(named):
		return fmt.Errorf("%q pins no version: add a tag or a digest, such as %s:<tag> or %s@sha256:<digest>", image, image, image)
	}
	return nil
}

// CheckQuantity checks a quantity as the API server parses it; the
// model's are sizes, memory and CPU, none of them negative.
func CheckQuantity(s string) error {
	q, err := resource.ParseQuantity(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a Kubernetes quantity: write a number with an optional suffix, such as 500m or 2 for CPU, and 512Mi or 4Gi for memory and sizes (Mi and Gi are powers of two; M and G powers of ten)", s)
	case q.Sign() < 0:
		return fmt.Errorf("%q is negative, and no size, memory or CPU is: write a quantity such as 512Mi or 500m", s)
	}
	return nil
}

// images checks every image the model holds, where it is written.
func (v *validator) images() {
	check := func(at Path, image string) {
		if err := CheckImage(image); err != nil {
			v.add(at, "%v", err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(v.c.Versions.Images)) {
		check(Path{"versions", "images", name}, v.c.Versions.Images[name])
	}
	for _, app := range v.m.byName() {
		if app.Image != "" {
			check(app.Path("image"), app.Image)
		}
		if c := app.Container; c != nil {
			check(app.Path("container", "image"), c.Image)
		}
		if f := app.Function; f != nil {
			check(app.Path("function", "image"), f.Image)
			check(app.Path("function", "deployerImage"), f.DeployerImage)
		}
	}
}

// container checks a container app: each envFrom entry and each volume
// names one source; the Secrets its variables and volumes read are
// among the app's secrets, with the keys it reads; no two volumes share
// a name or a mount path; sizes are quantities.
func (v *validator) container(app *App) {
	c := app.Container
	at := app.Path("container")
	for _, name := range slices.Sorted(maps.Keys(c.EnvSecrets)) {
		ref := c.EnvSecrets[name]
		ep := at.With("envSecrets", name)
		if i, ok := v.secret(app, ep.With("secret"), fmt.Sprintf("variable %s reads", name), ref.Secret); ok {
			if s := app.Secrets[i]; !slices.Contains(s.Keys, ref.Key) {
				fix := DidYouMean(ref.Key, s.Keys)
				if fix == "" {
					fix = "; add it to the Secret's keys, so that the owner is asked for it"
				}
				v.addRelated(ep.With("key"), []Path{app.Path("secrets", i, "keys")}, "variable %s reads key %s of Secret %s, which declares only %s%s",
					name, ref.Key, ref.Secret, strings.Join(s.Keys, ", "), fix)
			}
		}
	}
	for i, e := range c.EnvFrom {
		ep := at.With("envFrom", i)
		switch {
		case e.ConfigMap == "" && e.Secret == "":
			v.add(ep, "envFrom entry %d names no source; give it configMap: \"<name>\" or secret: \"<name>\"", i)
		case e.ConfigMap != "" && e.Secret != "":
			v.add(ep, "envFrom entry %d names both ConfigMap %s and Secret %s, and an entry loads one; write one entry for each", i, e.ConfigMap, e.Secret)
		case e.Secret != "":
			v.secret(app, ep.With("secret"), "envFrom loads every key of", e.Secret)
		}
	}
	names, mounts := map[string]int{}, map[string]int{}
	for i, vol := range c.Volumes {
		vp := at.With("volumes", i)
		if j, dup := names[vol.Name]; dup {
			v.addRelated(vp.With("name"), []Path{at.With("volumes", j, "name")}, "app %s has two volumes named %s; name each volume once", app.Name, vol.Name)
		} else {
			names[vol.Name] = i
		}
		if j, dup := mounts[vol.MountPath]; dup {
			v.addRelated(vp.With("mountPath"), []Path{at.With("volumes", j, "mountPath")}, "volumes %s and %s are both mounted on %s, and a container mounts one volume on a path; give each its own mountPath",
				c.Volumes[j].Name, vol.Name, vol.MountPath)
		} else {
			mounts[vol.MountPath] = i
		}
		var sources []string
		for _, s := range []struct{ field, value string }{{"size", vol.Size}, {"configMap", vol.ConfigMap}, {"secret", vol.Secret}} {
			if s.value != "" {
				sources = append(sources, s.field)
			}
		}
		switch len(sources) {
		case 0:
			v.add(vp, "volume %s mounts nothing; give it a size (a persistent volume, such as size: \"10Gi\"), a configMap or a secret", vol.Name)
		case 1:
		default:
			v.add(vp, "volume %s has both %s; a volume is a persistent volume (size), a ConfigMap or a Secret: keep one, and add another volume for the other", vol.Name, strings.Join(sources, " and "))
		}
		if vol.Size != "" {
			if err := CheckQuantity(vol.Size); err != nil {
				v.add(vp.With("size"), "%v", err)
			}
		}
		if vol.Secret != "" {
			v.secret(app, vp.With("secret"), fmt.Sprintf("volume %s mounts", vol.Name), vol.Secret)
		}
	}
}

// secret checks that a Secret an app reads, named at path, is one of the
// app's secrets, and returns its index there. The app's secrets are what
// the secrets folder's README asks the owner to commit, and what the
// app's Flux Kustomization waits for: a Secret read but not declared
// would be missing when the pod starts.
func (v *validator) secret(app *App, at Path, what, name string) (int, bool) {
	if i, ok := app.Secret(name); ok {
		return i, true
	}
	fix := DidYouMean(name, app.SecretNames())
	if fix == "" {
		fix = "; declare it in the app's secrets with the keys it holds, so that the owner is asked for it and the app waits for it"
	}
	v.add(at, "%s Secret %s, which is not among the secrets app %s declares%s", what, name, app.Name, fix)
	return -1, false
}
