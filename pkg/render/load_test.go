package render_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"

	cuemodule "github.com/polylab/polylab-gitops/cue"
	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// update rewrites golden files: UPDATE_GOLDEN=1 go test ./pkg/render/...
var update = os.Getenv("UPDATE_GOLDEN") != ""

var embedded = render.Source{FS: cuemodule.FS, Display: "cue"}

func loadPolylab(t testing.TB) *model.Model {
	t.Helper()
	m, err := render.Load(embedded, "polylab")
	if err != nil {
		t.Fatalf("load polylab: %v", err)
	}
	return m
}

// golden compares got with the file, or rewrites the file when updating.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (UPDATE_GOLDEN=1 creates it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-golden +got); UPDATE_GOLDEN=1 rewrites it:\n%s", file, diff)
	}
}

// TestDecodedModel pins the decoded example model: a change to the
// schema's defaults or to decoding shows here as a reviewable diff. (The
// owner's polylab changes with every step of the README's How-to; its
// render, clusters/polylab, is the reviewable diff of those.)
func TestDecodedModel(t *testing.T) {
	m, err := render.Load(embedded, "example")
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(m.Cluster, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/example.model.json", append(got, '\n'))
}

// TestLoadFromDisk checks that the folder on disk and the embedded module
// load to the same model: one loading path for both.
func TestLoadFromDisk(t *testing.T) {
	fromDisk, err := render.Load(render.DirSource("../../cue"), "polylab")
	if err != nil {
		t.Fatal(err)
	}
	embeddedJSON, _ := json.MarshalIndent(loadPolylab(t).Cluster, "", "  ")
	diskJSON, _ := json.MarshalIndent(fromDisk.Cluster, "", "  ")
	if diff := cmp.Diff(string(embeddedJSON), string(diskJSON)); diff != "" {
		t.Errorf("disk and embedded models differ:\n%s", diff)
	}
}

// TestPolylabFacts checks the model holds every fact of the owner's note
// (shared/reference/polylab.md).
func TestPolylabFacts(t *testing.T) {
	c := loadPolylab(t)
	nodes := map[string]model.Node{}
	for _, n := range c.Nodes {
		nodes[n.Name] = n
	}
	for name, want := range map[string]struct {
		ip   string
		role model.Role
	}{
		"polynode-1": {"192.168.20.221", model.Server}, "polynode-2": {"192.168.20.222", model.Server},
		"polynode-3": {"192.168.20.223", model.Server}, "polydev-desktop": {"192.168.20.16", model.Agent},
	} {
		if n := nodes[name]; n.IP.String() != want.ip || n.Role != want.role || n.Planned {
			t.Errorf("node %s = %+v, want ip %s role %s, built", name, n, want.ip, want.role)
		}
	}
	if j, ok := nodes["jetson-nano"]; !ok || !j.Planned || j.Arch != "arm64" || j.Role != model.Agent || j.Labels["polylab.dev/edge"] != "true" {
		t.Errorf("the Jetson Nano must be a planned arm64 edge agent: %+v", j)
	}
	gpu := nodes["polydev-desktop"]
	if gpu.GPUCount() != 1 || gpu.GPUs[0].Model != "RTX A6000" || gpu.GPUs[0].MemoryGiB != 48 || gpu.Hardware.Cores != 24 || gpu.Hardware.MemoryGiB != 64 {
		t.Errorf("GPU worker = %+v", gpu)
	}
	if n := c.Network; n.LAN.String() != "192.168.20.0/24" || n.Pods.String() != "10.42.0.0/16" || n.Services.String() != "10.43.0.0/16" ||
		n.APIVIP.String() != "192.168.20.225" || n.LoadBalancerPool.String() != "192.168.20.235-192.168.20.245" {
		t.Errorf("network = %+v", n)
	}
	ports := map[int]string{}
	for _, p := range c.NodePorts {
		ports[p.Port] = p.Protocol
	}
	for port, proto := range map[int]string{6443: "TCP", 2379: "TCP", 2380: "TCP", 10250: "TCP", 8472: "UDP"} {
		if ports[port] != proto {
			t.Errorf("node port %d/%s missing", port, proto)
		}
	}
	lbs := map[string]string{}
	for _, app := range c.Apps {
		for _, w := range app.Workloads {
			for _, lb := range w.LoadBalancers {
				lbs[lb.IP.String()] = app.Name + "/" + w.Name
			}
		}
	}
	for ip, want := range map[string]string{
		"192.168.20.235": "traefik/traefik", "192.168.20.236": "cvat/nuclio-dashboard",
		"192.168.20.237": "minio/minio", "192.168.20.238": "minio/minio", "192.168.20.239": "longhorn/ui",
		"192.168.20.240": "clearml/webserver", "192.168.20.241": "clearml/apiserver", "192.168.20.242": "clearml/fileserver",
	} {
		if lbs[ip] != want {
			t.Errorf("LoadBalancer IP %s serves %q, want %s", ip, lbs[ip], want)
		}
	}
	for app, ns := range map[string]string{"cvat": "cvat", "yolo11x-cvat-detector-gpu": "cvat", "minio": "minio", "clearml": "clearml",
		"longhorn": "longhorn-system", "metallb": "metallb-system", "kube-vip": "kube-system", "traefik": "kube-system"} {
		if got := c.App(app).Namespace; got != ns {
			t.Errorf("app %s in namespace %q, want %s", app, got, ns)
		}
	}
	fn := c.App("yolo11x-cvat-detector-gpu")
	if p, ok := fn.Workloads[0].FindPort(model.FlowPort{Number: 8080}); !ok || fn.Workloads[0].Placement.GPUs != 1 || p.Name != "http" {
		t.Errorf("the YOLO11 function must serve HTTP 8080 on a GPU: %+v", fn.Workloads)
	}
	flows := map[string]bool{}
	for _, f := range c.Flows {
		flows[f.From+" -> "+f.To] = true
	}
	for _, f := range []string{
		"cvat/backend -> minio", "cvat/backend -> cvat-postgresql", "cvat/backend -> cvat-redis",
		"cvat/backend -> cvat/nuclio-dashboard", "cvat/nuclio-dashboard -> yolo11x-cvat-detector-gpu",
		"lan -> clearml/apiserver", "clearml/apiserver -> minio",
	} {
		if !flows[f] {
			t.Errorf("flow %s from polylab.md is missing", f)
		}
	}
}

// FuzzBuild feeds the whole pipeline (load, render, verify) arbitrary
// cluster files: whatever the input, it returns a verified tree or
// Problems, each with a message, and never panics. Its seeds are every
// cluster of the CLI's scripts (each a mistake an owner makes, or a valid
// cluster), the schema test's cluster, and valid clusters that reach the
// components' settings, resources, images and flows.
func FuzzBuild(f *testing.F) {
	scripts, err := filepath.Glob("../../cmd/render/testdata/script/*.txtar")
	if err != nil || len(scripts) == 0 {
		f.Fatalf("no scripts to seed from: %v", err)
	}
	var tiny string
	for _, file := range scripts {
		a, err := txtar.ParseFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, af := range a.Files {
			if strings.HasSuffix(af.Name, ".cue") {
				f.Add(string(af.Data))
				if filepath.Base(file) == "render_tiny.txtar" {
					tiny = string(af.Data)
				}
			}
		}
	}
	f.Add(schemaBase)
	// Valid clusters whose components read settings and resources: the
	// quantities script with the values fixed, and with a LoadBalancer
	// the LAN reaches.
	quantities, err := txtar.ParseFile("../../cmd/render/testdata/script/invalid_quantities.txtar")
	if err != nil {
		f.Fatal(err)
	}
	for _, af := range quantities.Files {
		if af.Name == "cue/clusters/tiny/cluster.cue" {
			fixed := strings.NewReplacer(`"500 m"`, `"500m"`, `"1GB"`, `"1Gi"`, `"50 Gi"`, `"50Gi"`).Replace(string(af.Data))
			f.Add(fixed)
			f.Add(strings.Replace(fixed, `ports: [{name: "api", port: 9000}, {name: "console", port: 9001}]`,
				`ports: [{name: "api", port: 9000}, {name: "console", port: 9001}]
			loadBalancers: [{ip: "10.0.0.201", service: "minio", ports: [{name: "api", port: 9000}]}]`, 1) +
				"cluster: externals: [{name: \"lan\", cidr: \"10.0.0.0/24\", description: \"the LAN\"}]\n" +
				"cluster: flows: [{from: \"lan\", to: \"minio\", port: \"api\", purpose: \"S3\"}]\n")
		}
	}
	f.Add(strings.Replace(tiny, `"10.0.0.0/24"`, `"10.0.0.7/24"`, 1))
	f.Add(strings.Replace(tiny, `role: "server"`, `role: "agent"`, 1))
	f.Add(strings.Replace(tiny, `port: 80}]`, `port: 80}, {name: "http", port: 99999}]`, 1))
	f.Add(strings.Replace(tiny, `image: "docker.io/library/nginx:1.27"`, `image: "docker.io/library/nginx:1.27", resources: limits: memory: "1GB"`, 1))
	f.Add("package tiny\n\ncluster: 1\n")
	f.Add("package tiny\n\ncluster: {")

	base := schemaModule()
	f.Fuzz(func(t *testing.T, cluster string) {
		fsys := fstest.MapFS{}
		for k, v := range base {
			fsys[k] = v
		}
		fsys["clusters/tiny/cluster.cue"] = &fstest.MapFile{Data: []byte(cluster)}
		r, err := render.Build(render.Source{FS: fsys, Display: "cue"}, "tiny")
		var problems model.Problems
		switch {
		case err == nil && (r == nil || r.Tree == nil):
			t.Fatal("no tree and no error")
		case err != nil && !errors.As(err, &problems):
			// A model that loads renders; anything else is a bug of the renderer.
			t.Fatalf("error is not Problems: %v", err)
		case err != nil:
			for _, p := range problems {
				if p.Message == "" {
					t.Fatalf("problem without a message: %+v", p)
				}
			}
		}
	})
}
