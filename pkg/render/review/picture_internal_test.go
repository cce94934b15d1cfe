package review

import "testing"

// TestParseFlow reads each form of a line policy.FlowsAnnotation writes.
func TestParseFlow(t *testing.T) {
	for id, want := range map[string]parsedFlow{
		"web -> api http (8080/TCP)":                                             {from: "web", to: "api", port: "http 8080"},
		"cvat/backend -> minio api (Service port 80, pod port 9000/TCP)":         {from: "cvat/backend", to: "minio", port: "api 9000"},
		"lan -> dns/coredns dns (53/UDP)":                                        {from: "lan", to: "dns/coredns", port: "dns 53/UDP"},
		"a/manager -> a/engine processes (10000-20000/TCP)":                      {from: "a/manager", to: "a/engine", port: "processes 10000-20000"},
		"cvat/nuclio-controller -> the Kubernetes API on the servers (6443/TCP)": {from: "cvat/nuclio-controller", to: "the Kubernetes API on the servers", port: "6443"},
	} {
		got, ok := parseFlow(id)
		if !ok || got != want {
			t.Errorf("parseFlow(%q) = %+v, %v; want %+v", id, got, ok, want)
		}
	}
	for _, id := range []string{"", "web api http (80/TCP)", "web -> api http", "web -> api http (80/TCP"} {
		if f, ok := parseFlow(id); ok {
			t.Errorf("parseFlow(%q) = %+v, want no flow", id, f)
		}
	}
}

// TestUnitChanges: a unit added or removed brings its dependsOn along; a
// unit whose dependsOn changes shows what came, what went and what stayed.
func TestUnitChanges(t *testing.T) {
	ks := func(name string, deps ...string) (Key, object) {
		var list []any
		for _, d := range deps {
			list = append(list, map[string]any{"name": d})
		}
		k := Key{APIGroup: "kustomize.toolkit.fluxcd.io", Kind: "Kustomization", Namespace: "flux-system", Name: name}
		return k, object{Key: k, Content: map[string]any{"spec": map[string]any{"dependsOn": list}}}
	}
	objects := func(units ...[]string) map[Key]object {
		out := map[Key]object{}
		for _, u := range units {
			k, o := ks(u[0], u[1:]...)
			out[k] = o
		}
		return out
	}
	old := objects([]string{"namespaces"}, []string{"web", "namespaces", "secrets"}, []string{"gone", "namespaces"}, []string{"same", "namespaces"})
	cur := objects([]string{"namespaces"}, []string{"web", "namespaces", "longhorn"}, []string{"new", "web"}, []string{"same", "namespaces"})
	got := unitChanges(old, cur)
	want := []UnitChange{
		{Action: Removed, Name: "gone", DependsOn: []Dependency{{Name: "namespaces", Action: Removed}}},
		{Action: Added, Name: "new", DependsOn: []Dependency{{Name: "web", Action: Added}}},
		{Action: Changed, Name: "web", DependsOn: []Dependency{{Name: "longhorn", Action: Added}, {Name: "namespaces"}, {Name: "secrets", Action: Removed}}},
	}
	if len(got) != len(want) {
		t.Fatalf("unitChanges = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Action != want[i].Action || got[i].Name != want[i].Name || len(got[i].DependsOn) != len(want[i].DependsOn) {
			t.Fatalf("unitChanges = %+v, want %+v", got, want)
		}
		for j := range want[i].DependsOn {
			if got[i].DependsOn[j] != want[i].DependsOn[j] {
				t.Errorf("unitChanges = %+v, want %+v", got, want)
			}
		}
	}
}
