package component_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// The function app of the polylab model.
const nuclioApp = "yolo11x-cvat-detector-gpu"

func nuclioJob(t *testing.T, c *model.Cluster) *batchv1.Job {
	t.Helper()
	u := renderApp(t, c, nuclioApp)
	jobs := allObjects[*batchv1.Job](u.Objects)
	if len(jobs) != 1 {
		t.Fatalf("rendered %d Jobs, want 1", len(jobs))
	}
	return jobs[0]
}

func TestNuclioFunctionFromModel(t *testing.T) {
	c := testCluster(t)
	app := testApp(t, c, nuclioApp)
	f, w := app.Function, app.Workloads[0]
	u := renderApp(t, c, app.Name)
	fn := findObject[*kube.NuclioFunction](t, u.Objects, app.Name)
	m := testModel(t, c)

	owned := maps.Clone(fn.Annotations)
	delete(owned, component.CVATLabelSpecAnnotation) // made from the labels: TestNuclioLabelsOneText
	if fn.Namespace != app.Namespace || fn.Labels[component.NuclioProjectLabel] != f.Project || !maps.Equal(owned, f.Annotations) {
		t.Errorf("NuclioFunction %s/%s labels %v annotations %v; want namespace %s, project %s, annotations %v",
			fn.Namespace, fn.Name, fn.Labels, owned, app.Namespace, f.Project, f.Annotations)
	}
	s := fn.Spec
	if s.Image != f.Image || s.Runtime != f.Runtime || s.Handler != f.Handler || s.EventTimeout != f.EventTimeout.String() || s.Description != app.Description {
		t.Errorf("spec = %s %s %s %s %q, want %s %s %s %s %q", s.Image, s.Runtime, s.Handler, s.EventTimeout, s.Description,
			f.Image, f.Runtime, f.Handler, f.EventTimeout, app.Description)
	}
	if s.MinReplicas == nil || *s.MinReplicas != f.MinReplicas || s.MaxReplicas == nil || *s.MaxReplicas != f.MaxReplicas {
		t.Errorf("replicas = %v..%v, want %d..%d", s.MinReplicas, s.MaxReplicas, f.MinReplicas, f.MaxReplicas)
	}
	trigger, _ := json.Marshal(s.Triggers)
	if want := `{"http":{"kind":"http","numWorkers":1,"attributes":{"maxRequestBodySize":33554432}}}`; string(trigger) != want {
		t.Errorf("triggers = %s, want %s", trigger, want)
	}

	// The GPU chain: the GPU nodes' labels and taints, and the workload's GPUs.
	gpuNodes := m.GPUNodes
	if len(gpuNodes) == 0 || w.Placement.GPUs == 0 {
		t.Fatalf("the model has %d GPU nodes and the function needs %d GPUs; this test needs both", len(gpuNodes), w.Placement.GPUs)
	}
	if len(s.NodeSelector) == 0 {
		t.Errorf("the function has no node selector")
	}
	for _, n := range m.Built {
		gpu := n.GPUCount() > 0
		if selects(s.NodeSelector, n.Labels) != gpu {
			t.Errorf("node selector %v selects node %s: %v, want %v", s.NodeSelector, n.Name, !gpu, gpu)
		}
		for _, taint := range n.Taints {
			if gpu && !tolerates(s.Tolerations, taint) {
				t.Errorf("tolerations %v do not tolerate GPU node %s's taint %s", s.Tolerations, n.Name, taint)
			}
		}
	}
	if got := s.Resources.Limits[component.GPUResource]; got.Value() != int64(w.Placement.GPUs) {
		t.Errorf("GPU limit = %s, want %d", got.String(), w.Placement.GPUs)
	}
	// The model's workload selects the function's pods.
	pod := maps.Clone(fn.Labels)
	pod[component.NuclioFunctionNameLabel] = fn.Name
	if !selects(w.Selector, pod) {
		t.Errorf("workload selector %v does not select the function's pods %v", w.Selector, pod)
	}

	// The deployer: allowed to get and patch this function, nothing else.
	sa := findObject[*corev1.ServiceAccount](t, u.Objects, app.Name+"-deployer")
	role := findObject[*rbacv1.Role](t, u.Objects, sa.Name)
	wantRules := []rbacv1.PolicyRule{{APIGroups: []string{"nuclio.io"}, Resources: []string{"nucliofunctions"}, ResourceNames: []string{fn.Name}, Verbs: []string{"get", "patch"}}}
	if got, _ := json.Marshal(role.Rules); string(got) != mustJSON(t, wantRules) {
		t.Errorf("Role rules = %s, want %s", got, mustJSON(t, wantRules))
	}
	binding := findObject[*rbacv1.RoleBinding](t, u.Objects, sa.Name)
	if binding.RoleRef.Kind != "Role" || binding.RoleRef.Name != role.Name ||
		len(binding.Subjects) != 1 || binding.Subjects[0].Kind != "ServiceAccount" || binding.Subjects[0].Name != sa.Name || binding.Subjects[0].Namespace != app.Namespace {
		t.Errorf("RoleBinding = %+v %+v, want Role %s for ServiceAccount %s/%s", binding.RoleRef, binding.Subjects, role.Name, app.Namespace, sa.Name)
	}
	for _, o := range []kube.Object{sa, role, binding} {
		if o.GetNamespace() != app.Namespace {
			t.Errorf("%s is not in namespace %s", kube.Ref(o), app.Namespace)
		}
	}

	// The Job: kubectl patching the state Nuclio deploys from.
	job := nuclioJob(t, c)
	if !regexp.MustCompile("^" + regexp.QuoteMeta(app.Name) + "-deploy-[0-9a-f]{8}$").MatchString(job.Name) {
		t.Errorf("Job name %s, want %s-deploy-<8 hex digits>", job.Name, app.Name)
	}
	spec := job.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("Job runs %d containers, want 1", len(spec.Containers))
	}
	ctr := spec.Containers[0]
	wantArgs := []string{"patch", "nucliofunctions.nuclio.io", fn.Name, "--namespace", app.Namespace, "--type=merge",
		"--patch", `{"status":{"state":"` + component.NuclioDeployState + `"}}`}
	if ctr.Image != f.DeployerImage || len(ctr.Command) != 0 || !slices.Equal(ctr.Args, wantArgs) {
		t.Errorf("Job runs %s %v %v, want %s %v", ctr.Image, ctr.Command, ctr.Args, f.DeployerImage, wantArgs)
	}
	if component.NuclioDeployState != "waitingForResourceConfiguration" {
		t.Errorf("NuclioDeployState = %s", component.NuclioDeployState)
	}
	if spec.ServiceAccountName != sa.Name || spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("Job pod runs as %s, restarts %s; want %s, OnFailure", spec.ServiceAccountName, spec.RestartPolicy, sa.Name)
	}
	if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 6 || job.Spec.TTLSecondsAfterFinished != nil {
		t.Errorf("Job backoffLimit %v ttl %v, want 6 and none", job.Spec.BackoffLimit, job.Spec.TTLSecondsAfterFinished)
	}
	if len(spec.Tolerations) > 0 || len(spec.NodeSelector) > 0 {
		t.Errorf("the Job's pod is placed (%v, %v); it runs anywhere", spec.Tolerations, spec.NodeSelector)
	}
	if job.Namespace != app.Namespace {
		t.Errorf("Job in %s, want %s", job.Namespace, app.Namespace)
	}

	// What Flux applies carries no status: Nuclio's state is the Job's to set.
	b, err := kube.Marshal(fn)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "status") {
		t.Errorf("the NuclioFunction YAML has a status:\n%s", b)
	}

	// Flux applies the unit after the function's project exists, and
	// waits until Nuclio says the function is ready.
	project := component.NuclioProject(app.Namespace, f.Project)
	if at, ok := needAt(u, project); !ok || at != "apps."+app.Name+".function.project" {
		t.Errorf("unit needs %v, want project %s (at apps.%s.function.project)", u.Needs, project, app.Name)
	}
	if _, cvatProjects := cvatUnits(t, c); cvatProjects == nil || !slices.Contains(cvatProjects.Provides, project) {
		t.Errorf("no unit of the cvat app provides the function's project %s", project)
	}
	if len(u.Health) != 1 || u.Health[0] != kube.Object(fn) {
		t.Errorf("Flux waits for %v, want the NuclioFunction alone", u.Health)
	}
	if len(u.HealthExprs) != 1 {
		t.Fatalf("health expressions %+v, want one for NuclioFunctions", u.HealthExprs)
	}
	h := u.HealthExprs[0]
	if h.APIVersion != "nuclio.io/v1beta1" || h.Kind != "NuclioFunction" ||
		h.Current != "status.state == 'ready'" || !strings.Contains(h.Failed, "'error'") || !strings.Contains(h.Failed, "'unhealthy'") {
		t.Errorf("health expressions %+v, want NuclioFunction ready on state ready, failed on error and unhealthy", h)
	}
	if u.Timeout != 30*time.Minute {
		t.Errorf("unit timeout %s, want 30m: Nuclio pulls a GPU image before it says ready", u.Timeout)
	}
	if len(u.Pods) != 1 || u.Pods[0].Namespace != app.Namespace || !selects(w.Selector, u.Pods[0].Labels) {
		t.Errorf("unit pods %+v, want the function's, which the workload selects", u.Pods)
	}
}

// mustJSON returns v as JSON, failing the test if it does not encode.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// firstGPUNode returns a pointer to the model's first active GPU node.
func firstGPUNode(t *testing.T, c *model.Cluster) *model.Node {
	t.Helper()
	for i := range c.Nodes {
		if !c.Nodes[i].Planned && c.Nodes[i].GPUCount() > 0 {
			return &c.Nodes[i]
		}
	}
	t.Fatal("the model has no GPU node")
	return nil
}

// TestNuclioDeployJobName: the Job's name changes with what it deploys,
// and only with it, so Flux runs it again exactly when Nuclio must redeploy.
func TestNuclioDeployJobName(t *testing.T) {
	base := nuclioJob(t, testCluster(t)).Name
	if again := nuclioJob(t, testCluster(t)).Name; again != base {
		t.Fatalf("two renders of the same model name the Job %s and %s", base, again)
	}
	editFunction := func(edit func(t *testing.T, app *model.App)) func(t *testing.T, c *model.Cluster) {
		return func(t *testing.T, c *model.Cluster) { editApp(c, nuclioApp, func(app *model.App) { edit(t, app) }) }
	}
	for _, tc := range []struct {
		name    string
		edit    func(t *testing.T, c *model.Cluster)
		changes bool
	}{
		{"the function's image", editFunction(func(t *testing.T, app *model.App) { app.Function.Image += "-next" }), true},
		{"an annotation CVAT reads", editFunction(func(t *testing.T, app *model.App) { app.Function.Annotations["name"] += " v2" }), true},
		{"the GPUs", func(t *testing.T, c *model.Cluster) {
			firstGPUNode(t, c).GPUs[0].Count++
			editApp(c, nuclioApp, func(app *model.App) { app.Workloads[0].Placement.GPUs++ })
		}, true},
		{"the replicas", editFunction(func(t *testing.T, app *model.App) { app.Function.MaxReplicas++ }), true},
		{"the project", editFunction(func(t *testing.T, app *model.App) { app.Function.Project = "other" }), true},
		{"the deployer's image", editFunction(func(t *testing.T, app *model.App) { app.Function.DeployerImage += "-next" }), true},
		{"a taint of the GPU node", func(t *testing.T, c *model.Cluster) {
			n := firstGPUNode(t, c)
			n.Taints = append(n.Taints, model.Taint{Key: "example.org/busy", Effect: "NoSchedule"})
		}, true},
		{"a label of the GPU node", func(t *testing.T, c *model.Cluster) {
			n := firstGPUNode(t, c)
			n.Labels = mergedLabels(n.Labels, map[string]string{"example.org/gpu": "a6000"})
		}, true},
		{"another app's LoadBalancer", func(t *testing.T, c *model.Cluster) {
			ip := freeIP(t, c, 0)
			editApp(c, "minio", func(app *model.App) { app.Workloads[0].LoadBalancers[0].IP = ip })
		}, false},
		{"CVAT's settings", func(t *testing.T, c *model.Cluster) {
			editSettings(t, c, "cvat", func(s map[string]any) { s["hostname"] = "elsewhere.example" })
		}, false},
		{"the GPU node's GPU count", func(t *testing.T, c *model.Cluster) { firstGPUNode(t, c).GPUs[0].Count++ }, false},
		{"a node without GPUs", func(t *testing.T, c *model.Cluster) {
			c.Nodes[0].Labels = mergedLabels(c.Nodes[0].Labels, map[string]string{"example.org/rack": "b"})
		}, false},
		{"the function's workload ports", func(t *testing.T, c *model.Cluster) {
			editApp(c, nuclioApp, func(app *model.App) { app.Workloads[0].Ports[0].Name = "web" })
			for i := range c.Flows {
				if c.Flows[i].To == nuclioApp {
					c.Flows[i].Port = model.FlowPort{Name: "web"}
				}
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCluster(t)
			tc.edit(t, c)
			got := nuclioJob(t, c).Name
			if changed := got != base; changed != tc.changes {
				t.Errorf("Job name %s -> %s: changed %v, want %v", base, got, changed, tc.changes)
			}
		})
	}
}

// mergedLabels returns a copy of a with the labels of b added.
func mergedLabels(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, b)
	return out
}

func TestNuclioFunctionFollowsModel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(t *testing.T, c *model.Cluster)
		check func(t *testing.T, c *model.Cluster, fn *kube.NuclioFunction)
	}{{
		name: "a new taint on the GPU node",
		edit: func(t *testing.T, c *model.Cluster) {
			n := firstGPUNode(t, c)
			n.Taints = append(n.Taints, model.Taint{Key: "example.org/busy", Effect: "NoExecute"})
		},
		check: func(t *testing.T, c *model.Cluster, fn *kube.NuclioFunction) {
			for _, taint := range firstGPUNode(t, c).Taints {
				if !tolerates(fn.Spec.Tolerations, taint) {
					t.Errorf("tolerations %v miss taint %s", fn.Spec.Tolerations, taint)
				}
			}
		},
	}, {
		name: "a second GPU node with other labels",
		edit: func(t *testing.T, c *model.Cluster) {
			n := *firstGPUNode(t, c)
			n.Name, n.IP = "gpu-2", freeLANAddr(c)
			n.Labels = mergedLabels(n.Labels, map[string]string{"example.org/only-here": "true"})
			n.Taints = []model.Taint{{Key: "example.org/other", Value: "x", Effect: "NoSchedule"}}
			firstGPUNode(t, c).Labels = mergedLabels(firstGPUNode(t, c).Labels, map[string]string{"example.org/only-here": "false"})
			c.Nodes = append(c.Nodes, n)
		},
		check: func(t *testing.T, c *model.Cluster, fn *kube.NuclioFunction) {
			for _, n := range testModel(t, c).GPUNodes {
				if !selects(fn.Spec.NodeSelector, n.Labels) {
					t.Errorf("node selector %v misses GPU node %s", fn.Spec.NodeSelector, n.Name)
				}
				for _, taint := range n.Taints {
					if !tolerates(fn.Spec.Tolerations, taint) {
						t.Errorf("tolerations %v miss %s's taint %s", fn.Spec.Tolerations, n.Name, taint)
					}
				}
			}
			if _, ok := fn.Spec.NodeSelector["example.org/only-here"]; ok {
				t.Errorf("node selector %v keeps a label the GPU nodes do not share", fn.Spec.NodeSelector)
			}
		},
	}, {
		name: "two GPUs",
		edit: func(t *testing.T, c *model.Cluster) {
			firstGPUNode(t, c).GPUs[0].Count = 2
			editApp(c, nuclioApp, func(app *model.App) { app.Workloads[0].Placement.GPUs = 2 })
		},
		check: func(t *testing.T, c *model.Cluster, fn *kube.NuclioFunction) {
			if got := fn.Spec.Resources.Limits[component.GPUResource]; got.Value() != 2 {
				t.Errorf("GPU limit %s, want 2", got.String())
			}
		},
	}, {
		name: "no GPUs",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, nuclioApp, func(app *model.App) { app.Workloads[0].Placement.GPUs = 0 })
		},
		check: func(t *testing.T, c *model.Cluster, fn *kube.NuclioFunction) {
			if len(fn.Spec.NodeSelector) > 0 || len(fn.Spec.Tolerations) > 0 || len(fn.Spec.Resources.Limits) > 0 {
				t.Errorf("a CPU function is placed: %v %v %v", fn.Spec.NodeSelector, fn.Spec.Tolerations, fn.Spec.Resources.Limits)
			}
		},
	}, {
		name: "the image and project",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, nuclioApp, func(app *model.App) {
				app.Function.Image = "registry.example/fn:2"
				app.Function.Project = "other"
			})
		},
		check: func(t *testing.T, c *model.Cluster, fn *kube.NuclioFunction) {
			if fn.Spec.Image != "registry.example/fn:2" || fn.Labels[component.NuclioProjectLabel] != "other" {
				t.Errorf("function image %s project %s, want registry.example/fn:2 and other", fn.Spec.Image, fn.Labels[component.NuclioProjectLabel])
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCluster(t)
			tc.edit(t, c)
			u := renderApp(t, c, nuclioApp)
			tc.check(t, c, findObject[*kube.NuclioFunction](t, u.Objects, nuclioApp))
		})
	}
}

func TestNuclioFunctionRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, c *model.Cluster)
		path string
		want []string
	}{{
		name: "a selector Nuclio's pods do not match",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, nuclioApp, func(app *model.App) {
				app.Workloads[0].Selector = map[string]string{component.NuclioFunctionNameLabel: "nuclio-" + nuclioApp}
			})
		},
		path: "apps." + nuclioApp + ".workloads.0.selector",
		want: []string{"nuclio-" + nuclioApp, "Nuclio labels these pods"},
	}, {
		name: "a setting",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, nuclioApp, func(app *model.App) { app.Settings = json.RawMessage(`{"gpu": true}`) })
		},
		path: "apps." + nuclioApp + ".settings.gpu",
		want: []string{"reads no settings"},
	}, {
		name: "no function block",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, nuclioApp, func(app *model.App) { app.Function = nil })
		},
		path: "apps." + nuclioApp,
		want: []string{"needs a function block"},
	}, {
		name: "two workloads",
		edit: func(t *testing.T, c *model.Cluster) {
			editApp(c, nuclioApp, func(app *model.App) {
				app.Workloads = append(app.Workloads, model.Workload{Name: "other", Selector: map[string]string{"app": "other"}})
			})
			for i := range c.Flows {
				if c.Flows[i].To == nuclioApp {
					c.Flows[i].To = nuclioApp + "/function"
				}
			}
		},
		path: "apps." + nuclioApp + ".workloads",
		want: []string{"runs one workload"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCluster(t)
			tc.edit(t, c)
			renderErr(t, c, nuclioApp, tc.path, tc.want...)
		})
	}
}

// What the function needs that the model's validation and the schema
// check, before any component renders: a built GPU node for its GPUs, a
// deployer image, no settings.
func TestNuclioFunctionChecksMoved(t *testing.T) {
	t.Run("GPUs and no built GPU node", func(t *testing.T) {
		c := testCluster(t)
		firstGPUNode(t, c).Planned = true
		validateErr(t, c, "apps."+nuclioApp+".workloads.0.placement.gpus", "GPU", "no node that is built")
	})
	t.Run("more GPUs than a node has", func(t *testing.T) {
		c := testCluster(t)
		editApp(c, nuclioApp, func(app *model.App) { app.Workloads[0].Placement.GPUs = firstGPUNode(t, c).GPUCount() + 1 })
		validateErr(t, c, "apps."+nuclioApp+".workloads.0.placement.gpus", "the largest GPU node has")
	})
	t.Run("no deployer image", func(t *testing.T) {
		cueErr(t, "apps.cue", "deployerImage: cluster.versions.images.kubectl", "", "apps."+nuclioApp+".function.deployerImage", "required")
	})
	t.Run("a setting", func(t *testing.T) {
		cueErr(t, "zz_extra.cue", "", `cluster: apps: "`+nuclioApp+`": settings: gpu: true`, "apps."+nuclioApp+".settings", "field not allowed")
	})
}

// TestNuclioLongName: names derived from a long function name stay valid.
func TestNuclioLongName(t *testing.T) {
	c := testCluster(t)
	app := testApp(t, c, nuclioApp)
	delete(c.AppsByName, nuclioApp)
	app.Name = strings.Repeat("f", 60) + "-xy"
	app.Workloads[0].Selector = map[string]string{component.NuclioFunctionNameLabel: app.Name}
	c.AppsByName[app.Name] = app
	for i := range c.Flows {
		if c.Flows[i].To == nuclioApp {
			c.Flows[i].To = app.Name
		}
	}
	u := renderApp(t, c, app.Name)
	for _, o := range u.Objects {
		if n := len(o.GetName()); n > 63 || strings.HasSuffix(o.GetName(), "-") {
			t.Errorf("%s: name of %d characters", kube.Ref(o), n)
		}
	}
	job := allObjects[*batchv1.Job](u.Objects)[0]
	if !regexp.MustCompile(`-deploy-[0-9a-f]{8}$`).MatchString(job.Name) {
		t.Errorf("Job %s lost its hash", job.Name)
	}
}

// TestNuclioLabelsOneText: CVAT's spec annotation and the handler's LABELS
// are one JSON text made from the model's labels, in their order.
func TestNuclioLabelsOneText(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels []string
	}{
		{"the model's labels", nil},
		{"a name JSON must escape", []string{`say "cheese"`, "car"}},
		{"no labels", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCluster(t)
			if tc.labels != nil {
				editApp(c, nuclioApp, func(app *model.App) { app.Function.Labels = tc.labels })
			}
			want := testApp(t, c, nuclioApp).Function.Labels
			fn := findObject[*kube.NuclioFunction](t, renderApp(t, c, nuclioApp).Objects, nuclioApp)
			spec, annotated := fn.Annotations[component.CVATLabelSpecAnnotation]
			var env []string
			for _, e := range fn.Spec.Env {
				if e.Name == component.NuclioLabelsEnv {
					env = append(env, e.Value)
				}
			}
			if len(want) == 0 {
				if annotated || len(env) > 0 {
					t.Errorf("a function with no labels has annotation %q and LABELS %q", spec, env)
				}
				return
			}
			if !annotated || len(env) != 1 || env[0] != spec {
				t.Fatalf("annotation %q and LABELS %q, want one text", spec, env)
			}
			var got []struct {
				ID   *int   `json:"id"`
				Name string `json:"name"`
				Type string `json:"type"`
			}
			if err := json.Unmarshal([]byte(spec), &got); err != nil {
				t.Fatalf("CVAT reads the annotation with json.loads: %v\n%s", err, spec)
			}
			if len(got) != len(want) {
				t.Fatalf("%d labels, want %d", len(got), len(want))
			}
			for i, l := range got {
				if l.ID == nil || *l.ID != i || l.Name != want[i] || l.Type != "rectangle" {
					t.Errorf("label %d = %+v, want id %d name %q type rectangle", i, l, i, want[i])
				}
			}
			// One label a line: a changed label is a changed line in review.
			if lines := strings.Count(spec, "\n") + 1; lines != len(want)+2 {
				t.Errorf("the spec spans %d lines, want %d (one per label)", lines, len(want)+2)
			}
			// Owner annotations stay as they are.
			for k, v := range testApp(t, c, nuclioApp).Function.Annotations {
				if fn.Annotations[k] != v {
					t.Errorf("annotation %s = %q, want %q", k, fn.Annotations[k], v)
				}
			}
		})
	}
}

// TestNuclioLabelsChangeRedeploys: a new label list is a new deploy Job,
// so Nuclio redeploys the function with the new LABELS.
func TestNuclioLabelsChangeRedeploys(t *testing.T) {
	before := nuclioJob(t, testCluster(t)).Name
	c := testCluster(t)
	editApp(c, nuclioApp, func(app *model.App) { app.Function.Labels = app.Function.Labels[:1] })
	if after := nuclioJob(t, c).Name; after == before {
		t.Errorf("fewer labels render the same Job %s; Nuclio would not redeploy", after)
	}
}

func TestNuclioLabelsRefused(t *testing.T) {
	t.Run("a label twice", func(t *testing.T) {
		c := testCluster(t)
		editApp(c, nuclioApp, func(app *model.App) { app.Function.Labels = []string{"person", "car", "person"} })
		validateErr(t, c, "apps."+nuclioApp+".function.labels.2", `the label "person" twice`, "list it once")
	})
	t.Run("a spec annotation beside the labels", func(t *testing.T) {
		cueErr(t, "zz_extra.cue", "", `cluster: apps: "`+nuclioApp+`": function: annotations: spec: "[]"`,
			"apps."+nuclioApp+".function.annotations.spec", "the spec annotation is made from labels")
	})
	t.Run("an empty label", func(t *testing.T) {
		cueErr(t, "zz_extra.cue", "", `cluster: apps: "`+nuclioApp+`": function: labels: [""]`,
			"apps."+nuclioApp+".function.labels.0", "a label is the name of a class")
	})
}

// registryLogin is a registry login Secret for the function app.
func registryLogin(name string) model.SecretRef {
	hint := "the registry's login"
	return model.SecretRef{Name: name, Type: model.SecretDockerConfig, Keys: []string{model.SecretDockerConfigKey},
		Generate: map[string]model.Generate{model.SecretDockerConfigKey: {Supplied: &hint}}}
}

func TestNuclioImagePullSecret(t *testing.T) {
	t.Run("none for a public image", func(t *testing.T) {
		c := testCluster(t)
		editApp(c, nuclioApp, func(app *model.App) { app.Function.ImagePullSecret = "" })
		fn := findObject[*kube.NuclioFunction](t, renderApp(t, c, nuclioApp).Objects, nuclioApp)
		if fn.Spec.ImagePullSecrets != "" {
			t.Errorf("imagePullSecrets = %q, want none", fn.Spec.ImagePullSecrets)
		}
	})
	t.Run("the app's registry login", func(t *testing.T) {
		c := testCluster(t)
		editApp(c, nuclioApp, func(app *model.App) {
			app.Secrets = append(app.Secrets, registryLogin("registry-login"))
			app.Function.ImagePullSecret = "registry-login"
		})
		u := renderApp(t, c, nuclioApp)
		fn := findObject[*kube.NuclioFunction](t, u.Objects, nuclioApp)
		if fn.Spec.ImagePullSecrets != "registry-login" {
			t.Errorf("imagePullSecrets = %q, want registry-login", fn.Spec.ImagePullSecrets)
		}
		// Flux applies the function after the Secret exists.
		if _, ok := needAt(u, component.SecretsKey); !ok {
			t.Errorf("unit needs %v, want the secrets", u.Needs)
		}
		// render -secrets asks the owner for it and writes its type, and
		// the secrets README says how to make one by hand.
		m := testModel(t, c)
		declared := false
		for _, s := range component.DeclaredSecrets(m) {
			if s.Name == "registry-login" {
				declared = s.Type == model.SecretDockerConfig
			}
		}
		if !declared {
			t.Errorf("registry-login is not declared as a Secret of type %s", model.SecretDockerConfig)
		}
		readme := string(component.Secrets(m).Files["README.md"])
		for _, want := range []string{"| registry-login (registry login) | `.dockerconfigjson` (yours to supply", "kubectl create secret docker-registry"} {
			if !strings.Contains(readme, want) {
				t.Errorf("the secrets README lacks %q:\n%s", want, readme)
			}
		}
	})
	t.Run("a Secret the app does not declare", func(t *testing.T) {
		c := testCluster(t)
		editApp(c, nuclioApp, func(app *model.App) {
			app.Secrets = append(app.Secrets, registryLogin("registry-login"))
			app.Function.ImagePullSecret = "registry-logon"
		})
		renderErr(t, c, nuclioApp, "apps."+nuclioApp+".function.imagePullSecret", "not among the app's secrets", "did you mean registry-login")
	})
	t.Run("an Opaque Secret", func(t *testing.T) {
		c := testCluster(t)
		editApp(c, nuclioApp, func(app *model.App) {
			login := registryLogin("registry-login")
			login.Type = model.SecretOpaque
			app.Secrets = append(app.Secrets, login)
			app.Function.ImagePullSecret = "registry-login"
		})
		renderErr(t, c, nuclioApp, "apps."+nuclioApp+".secrets."+fmt.Sprint(len(testApp(t, testCluster(t), nuclioApp).Secrets))+".type",
			"kubelet reads a login only from a Secret of type kubernetes.io/dockerconfigjson")
	})
	t.Run("a registry login with other keys", func(t *testing.T) {
		c := testCluster(t)
		editApp(c, nuclioApp, func(app *model.App) {
			login := registryLogin("registry-login")
			login.Keys = []string{"token"}
			login.Generate = nil
			app.Secrets = append(app.Secrets, login)
		})
		validateErr(t, c, "apps."+nuclioApp+".secrets."+fmt.Sprint(len(testApp(t, testCluster(t), nuclioApp).Secrets))+".keys", "whose one key is .dockerconfigjson")
	})
	t.Run("a registry login to generate", func(t *testing.T) {
		c := testCluster(t)
		editApp(c, nuclioApp, func(app *model.App) {
			login := registryLogin("registry-login")
			login.Generate = nil
			app.Secrets = append(app.Secrets, login)
		})
		validateErr(t, c, "apps."+nuclioApp+".secrets."+fmt.Sprint(len(testApp(t, testCluster(t), nuclioApp).Secrets))+".generate", "which only you have", "supplied")
	})
	t.Run("a bad type", func(t *testing.T) {
		cueErr(t, "zz_extra.cue", "", `cluster: apps: "`+nuclioApp+`": secrets: [{name: "x", keys: ["a"], type: "kubernetes.io/tls"}]`,
			"apps."+nuclioApp+".secrets.0.type", "a Secret's type is Opaque")
	})
}
