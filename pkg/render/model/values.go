package model

import "strings"

// container checks a container app: each envFrom entry and each volume
// names one source (the schema lets each name any of them, so that a
// wrong one is one problem here rather than one per alternative there).
func (v *validator) container(app *App) {
	c := app.Container
	at := app.Path("container")
	for i, e := range c.EnvFrom {
		ep := at.With("envFrom", i)
		switch {
		case e.ConfigMap == "" && e.Secret == "":
			v.add(ep, "envFrom entry %d names no source; give it configMap: \"<name>\" or secret: \"<name>\"", i)
		case e.ConfigMap != "" && e.Secret != "":
			v.add(ep, "envFrom entry %d names both ConfigMap %s and Secret %s, and an entry loads one; write one entry for each", i, e.ConfigMap, e.Secret)
		}
	}
	for i, vol := range c.Volumes {
		vp := at.With("volumes", i)
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
	}
}
