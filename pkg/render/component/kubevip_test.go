package component_test

import (
	"encoding/json"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// kubeVIPEnv returns the DaemonSet's container env as name -> value, and
// the env var set from a field, as name -> field path.
func kubeVIPEnv(t *testing.T, ds *appsv1.DaemonSet) (map[string]string, map[string]string) {
	t.Helper()
	if n := len(ds.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("DaemonSet has %d containers, want 1", n)
	}
	values, fields := map[string]string{}, map[string]string{}
	for _, e := range ds.Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			fields[e.Name] = e.ValueFrom.FieldRef.FieldPath
			continue
		}
		values[e.Name] = e.Value
	}
	return values, fields
}

// apiPortOf finds the API server's port in the model by its purpose, a
// different route from the component's, so the two check each other.
func apiPortOf(t *testing.T, c *model.Cluster) int {
	t.Helper()
	for _, p := range c.NodePorts {
		if strings.Contains(p.Purpose, "API") {
			return p.Port
		}
	}
	t.Fatal("the model has no nodePort for the Kubernetes API")
	return 0
}

func TestKubeVIP(t *testing.T) {
	c := testCluster(t)
	app := testApp(t, c, "kube-vip")
	units := renderUnits(t, c, app.Name)
	if len(units) != 1 {
		t.Fatalf("got %d units, want 1", len(units))
	}
	u := units[0]
	if u.Name != app.Name || u.Layer != app.Layer {
		t.Errorf("unit = %s in %s, want %s in %s", u.Name, u.Layer, app.Name, app.Layer)
	}
	objects := u.Objects
	w := app.Workloads[0]

	sa := findObject[*corev1.ServiceAccount](t, objects, "")
	role := findObject[*rbacv1.ClusterRole](t, objects, "")
	binding := findObject[*rbacv1.ClusterRoleBinding](t, objects, "")
	ds := findObject[*appsv1.DaemonSet](t, objects, "")
	env, fields := kubeVIPEnv(t, ds)
	pod := ds.Spec.Template.Spec
	container := pod.Containers[0]

	checks := []struct {
		what      string
		got, want any
	}{
		{"ServiceAccount namespace", sa.Namespace, app.Namespace},
		{"DaemonSet namespace", ds.Namespace, app.Namespace},
		{"DaemonSet service account", pod.ServiceAccountName, sa.Name},
		{"pod labels", ds.Spec.Template.Labels, w.Selector},
		{"DaemonSet selector", ds.Spec.Selector.MatchLabels, w.Selector},
		{"host network", pod.HostNetwork, true},
		{"image", container.Image, app.Image},
		{"args", container.Args, []string{"manager"}},
		{"capabilities added", container.SecurityContext.Capabilities.Add, []corev1.Capability{"NET_ADMIN", "NET_RAW"}},
		{"capabilities dropped", container.SecurityContext.Capabilities.Drop, []corev1.Capability{"ALL"}},
		{"address", env["address"], c.Network.APIVIP.String()},
		{"port", env["port"], strconv.Itoa(apiPortOf(t, c))},
		{"cp_namespace", env["cp_namespace"], app.Namespace},
		{"vip_arp", env["vip_arp"], "true"},
		{"cp_enable", env["cp_enable"], "true"},
		{"svc_enable", env["svc_enable"], "false"},
		{"vip_leaderelection", env["vip_leaderelection"], "true"},
		{"vip_leasename", env["vip_leasename"], "plndr-cp-lock"},
		{"vip_leaseduration", env["vip_leaseduration"], "15"},
		{"vip_renewdeadline", env["vip_renewdeadline"], "10"},
		{"vip_retryperiod", env["vip_retryperiod"], "2"},
		{"vip_subnet", env["vip_subnet"], "32"},
		{"vip_nodename", fields["vip_nodename"], "spec.nodeName"},
		{"binding role", binding.RoleRef, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}},
		{"binding subjects", binding.Subjects, []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: app.Namespace}}},
		{"tolerations", pod.Tolerations, []corev1.Toleration{
			{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
			{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
		}},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.what, ch.got, ch.want)
		}
	}
	if _, ok := env["vip_interface"]; ok {
		t.Errorf("vip_interface is set to %q without an interface setting; kube-vip should detect it", env["vip_interface"])
	}

	// Servers only: every term of the required node affinity names a
	// control-plane label.
	terms := pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	var keys []string
	for _, term := range terms {
		for _, e := range term.MatchExpressions {
			if e.Operator != corev1.NodeSelectorOpExists {
				t.Errorf("node affinity on %s uses %s, want Exists", e.Key, e.Operator)
			}
			keys = append(keys, e.Key)
		}
	}
	if !slices.Contains(keys, "node-role.kubernetes.io/control-plane") {
		t.Errorf("node affinity keys = %v, want node-role.kubernetes.io/control-plane among them", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "node-role.kubernetes.io/") {
			t.Errorf("node affinity on %s would place kube-vip off the servers", k)
		}
	}

	// The RBAC kube-vip needs: resource -> verbs it must be allowed.
	need := map[string][]string{
		"/services":                       {"list", "get", "watch", "update"},
		"/services/status":                {"update"},
		"/endpoints":                      {"list", "get", "watch", "update"},
		"/nodes":                          {"list", "get", "watch", "update", "patch"},
		"/pods":                           {"list"},
		"coordination.k8s.io/leases":      {"list", "get", "watch", "update", "create"},
		"discovery.k8s.io/endpointslices": {"list", "get", "watch", "update"},
	}
	for res, verbs := range need {
		group, resource, _ := strings.Cut(res, "/")
		for _, verb := range verbs {
			if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
				return slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb)
			}) {
				t.Errorf("ClusterRole %s does not allow %s on %s", role.Name, verb, res)
			}
		}
	}

	// The bootstrap's copy is the very same objects.
	m := testModel(t, c)
	manifests, err := component.KubeVIPManifests(m, m.App(app.Name))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(manifests, objects) {
		t.Error("KubeVIPManifests differs from the unit Flux applies")
	}
}

func TestKubeVIPFollowsModel(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *model.Cluster, app *model.App)
		check  func(t *testing.T, c *model.Cluster, app model.App, objects []kube.Object)
	}{{
		name:   "API VIP",
		change: func(c *model.Cluster, app *model.App) { c.Network.APIVIP = freeLANAddr(c) },
		check: func(t *testing.T, c *model.Cluster, app model.App, objects []kube.Object) {
			if env, _ := kubeVIPEnv(t, findObject[*appsv1.DaemonSet](t, objects, "")); env["address"] != c.Network.APIVIP.String() {
				t.Errorf("address = %q, want the changed VIP %s", env["address"], c.Network.APIVIP)
			}
		},
	}, {
		name:   "API port",
		change: func(c *model.Cluster, app *model.App) { c.Network.APIPort = 7443 },
		check: func(t *testing.T, c *model.Cluster, app model.App, objects []kube.Object) {
			if env, _ := kubeVIPEnv(t, findObject[*appsv1.DaemonSet](t, objects, "")); env["port"] != "7443" {
				t.Errorf("port = %q, want 7443", env["port"])
			}
		},
	}, {
		name:   "image",
		change: func(c *model.Cluster, app *model.App) { app.Image = "example.org/kube-vip:v9.9.9" },
		check: func(t *testing.T, c *model.Cluster, app model.App, objects []kube.Object) {
			if got := findObject[*appsv1.DaemonSet](t, objects, "").Spec.Template.Spec.Containers[0].Image; got != "example.org/kube-vip:v9.9.9" {
				t.Errorf("image = %q, want the changed one", got)
			}
		},
	}, {
		name:   "namespace and name",
		change: func(c *model.Cluster, app *model.App) { app.Namespace, app.Name = "vip-system", "vip" },
		check: func(t *testing.T, c *model.Cluster, app model.App, objects []kube.Object) {
			ds := findObject[*appsv1.DaemonSet](t, objects, "vip")
			env, _ := kubeVIPEnv(t, ds)
			if ds.Namespace != "vip-system" || env["cp_namespace"] != "vip-system" {
				t.Errorf("DaemonSet in %q with cp_namespace %q, want both vip-system", ds.Namespace, env["cp_namespace"])
			}
			sa := findObject[*corev1.ServiceAccount](t, objects, "vip")
			binding := findObject[*rbacv1.ClusterRoleBinding](t, objects, "")
			if binding.Subjects[0].Namespace != "vip-system" || binding.Subjects[0].Name != sa.Name {
				t.Errorf("binding subject = %+v, want ServiceAccount vip-system/vip", binding.Subjects[0])
			}
		},
	}, {
		name: "pod labels",
		change: func(c *model.Cluster, app *model.App) {
			app.Workloads[0].Selector = map[string]string{"app.kubernetes.io/name": "vip", "tier": "control-plane"}
		},
		check: func(t *testing.T, c *model.Cluster, app model.App, objects []kube.Object) {
			ds := findObject[*appsv1.DaemonSet](t, objects, "")
			if !maps.Equal(ds.Spec.Template.Labels, app.Workloads[0].Selector) || !maps.Equal(ds.Spec.Selector.MatchLabels, app.Workloads[0].Selector) {
				t.Errorf("labels = %v / selector %v, want %v", ds.Spec.Template.Labels, ds.Spec.Selector.MatchLabels, app.Workloads[0].Selector)
			}
		},
	}, {
		name:   "interface setting",
		change: func(c *model.Cluster, app *model.App) { app.Settings = json.RawMessage(`{"interface": "eno1"}`) },
		check: func(t *testing.T, c *model.Cluster, app model.App, objects []kube.Object) {
			if env, _ := kubeVIPEnv(t, findObject[*appsv1.DaemonSet](t, objects, "")); env["vip_interface"] != "eno1" {
				t.Errorf("vip_interface = %q, want eno1", env["vip_interface"])
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCluster(t)
			app := testApp(t, c, "kube-vip")
			delete(c.AppsByName, app.Name)
			tt.change(c, &app)
			c.AppsByName[app.Name] = app
			objects := renderUnits(t, c, app.Name)[0].Objects
			tt.check(t, c, app, objects)
		})
	}
}

func TestKubeVIPRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *model.Cluster, app *model.App)
		path   string
		want   string
	}{{
		name:   "not in the host network",
		change: func(c *model.Cluster, app *model.App) { app.Workloads[0].HostNetwork = false },
		path:   "apps.kube-vip.workloads.0.hostNetwork",
		want:   "hostNetwork: true",
	}, {
		name: "two workloads",
		change: func(c *model.Cluster, app *model.App) {
			second := app.Workloads[0]
			second.Name, second.Selector = "kube-vip-2", map[string]string{"app.kubernetes.io/name": "kube-vip-2"}
			app.Workloads = append(app.Workloads, second)
		},
		path: "apps.kube-vip.workloads",
		want: "runs one workload",
	}, {
		name: "a LoadBalancer",
		change: func(c *model.Cluster, app *model.App) {
			app.Workloads[0].LoadBalancers = []model.LoadBalancer{{IP: freeIP(t, c, 0)}}
		},
		path: "apps.kube-vip.workloads.0.loadBalancers",
		want: "does not expose",
	}, {
		name:   "no image",
		change: func(c *model.Cluster, app *model.App) { app.Image = "" },
		path:   "apps.kube-vip",
		want:   "needs a image block",
	}, {
		name:   "an unknown setting",
		change: func(c *model.Cluster, app *model.App) { app.Settings = json.RawMessage(`{"iface": "eno1"}`) },
		path:   "apps.kube-vip.settings.iface",
		want:   "has no setting iface; it reads interface",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCluster(t)
			editApp(c, "kube-vip", func(app *model.App) { tt.change(c, app) })
			renderErr(t, c, "kube-vip", tt.path, tt.want)
		})
	}
}

// freeLANAddr is an address of the LAN that no node, VIP or pool holds.
func freeLANAddr(c *model.Cluster) netip.Addr {
	taken := map[netip.Addr]bool{c.Network.APIVIP: true}
	for _, n := range c.Nodes {
		taken[n.IP] = true
	}
	a := c.Network.LAN.Masked().Addr().Next()
	for taken[a] || c.Network.LoadBalancerPool.Contains(a) {
		a = a.Next()
	}
	return a
}
