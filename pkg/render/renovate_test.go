package render_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestRenovateFindsEveryVersion checks that renovate.json's custom managers
// match every chart and image the model pins, and read the pinned version:
// a line reshaped in versions.cue must not silently fall out of Renovate.
func TestRenovateFindsEveryVersion(t *testing.T) {
	var config struct {
		CustomManagers []struct {
			Description  string   `json:"description"`
			MatchStrings []string `json:"matchStrings"`
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
	found := map[string]bool{} // versions Renovate reads
	for _, m := range config.CustomManagers {
		for _, s := range m.MatchStrings {
			re := regexp.MustCompile(s)
			for _, match := range re.FindAllStringSubmatch(string(versions), -1) {
				found[match[re.SubexpIndex("currentValue")]] = true
			}
		}
	}
	c := loadPolylab(t)
	want := []string{c.Versions.K3s, c.Versions.Flux, c.Versions.FluxOperator.Version}
	for _, ch := range c.Versions.Charts {
		want = append(want, ch.Version)
	}
	for _, img := range c.Versions.Images {
		want = append(want, img[strings.LastIndex(img, ":")+1:])
	}
	for _, v := range want {
		if !found[v] {
			t.Errorf("renovate.json reads no version %q from versions.cue", v)
		}
	}
}
