package render_test

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"
)

// TestRenovateFindsEveryVersion checks that renovate.json's custom managers
// find every chart, image and release the model pins in versions.cue, each
// by its own name and with its pinned version: a pin written elsewhere (in
// an app's file) or reshaped in versions.cue must not silently fall out of
// Renovate.
func TestRenovateFindsEveryVersion(t *testing.T) {
	var config struct {
		CustomManagers []struct {
			Description     string   `json:"description"`
			MatchStrings    []string `json:"matchStrings"`
			DepNameTemplate string   `json:"depNameTemplate"`
		} `json:"customManagers"`
	}
	b, err := os.ReadFile("../../renovate.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &config); err != nil {
		t.Fatal(err)
	}
	versions, err := os.ReadFile("../../cue/clusters/polylab/versions.cue")
	if err != nil {
		t.Fatal(err)
	}
	// What Renovate reads: a dependency's name and version.
	found := map[string]bool{}
	for _, m := range config.CustomManagers {
		for _, s := range m.MatchStrings {
			re := regexp.MustCompile(s)
			for _, match := range re.FindAllStringSubmatch(string(versions), -1) {
				group := func(name string) string {
					if i := re.SubexpIndex(name); i >= 0 {
						return match[i]
					}
					return ""
				}
				name := m.DepNameTemplate
				if pkg := group("packageName"); pkg != "" {
					name = pkg // an image: its repository
				} else if dep := group("depName"); dep != "" {
					name = dep // a chart: its name
				}
				found[name+"@"+group("currentValue")] = true
			}
		}
	}
	c := loadPolylab(t)
	want := []string{"k3s-io/k3s@" + c.Versions.K3s, "fluxcd/flux2@" + c.Versions.Flux,
		c.Versions.FluxOperator.Name + "@" + c.Versions.FluxOperator.Version}
	for _, ch := range c.Versions.Charts {
		want = append(want, ch.Name+"@"+ch.Version)
	}
	for _, img := range c.Versions.Images {
		if i := regexp.MustCompile(`:[^:/]+$`).FindStringIndex(img); i != nil {
			want = append(want, img[:i[0]]+"@"+img[i[0]+1:])
		}
	}
	for _, v := range want {
		if !found[v] {
			t.Errorf("renovate.json reads no %s from cue/clusters/polylab/versions.cue: pin it there, one {repository, name, version} or image a line", v)
		}
	}
}
