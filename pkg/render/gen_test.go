package render_test

import (
	"fmt"
	"io/fs"
	"strings"
	"testing/fstest"

	cuemodule "github.com/polylab/polylab-gitops/cue"
	"github.com/polylab/polylab-gitops/pkg/render"
)

// scale is a synthetic cluster's size, in multiples of polylab: about 5
// nodes, 15 workloads and 10 flows each.
type scale struct {
	nodes, apps, flows int
}

func scaleOf(x int) scale { return scale{nodes: 5 * x, apps: 15 * x, flows: 10 * x} }

// synthetic returns a CUE module holding the schema and a generated
// cluster "synthetic" of the given size, valid by construction: three
// servers, the rest agents (every tenth with a GPU), container apps with
// one workload each, spread over namespaces of ten, and flows from each
// app to the next, every seventh from the LAN instead, to an app on a
// LoadBalancer IP.
func synthetic(s scale) render.Source {
	var b strings.Builder
	b.WriteString(`package synthetic

import "polylab.dev/gitops/schema"

cluster: schema.#Cluster & {
	name: "synthetic"
	flux: url: "https://git.example.com/synthetic.git"
	versions: {k3s: "v1.35.7+k3s1", flux: "v2.9.4", fluxOperator: {repository: "oci://ghcr.io/controlplaneio-fluxcd/charts", name: "flux-operator", version: "0.59.0"}}
	network: {
		lan:      "10.0.0.0/16"
		pods:     "10.42.0.0/16"
		services: "10.43.0.0/16"
		apiVIP:   "10.0.255.250"
		loadBalancerPool: {first: "10.0.200.0", last: "10.0.239.255"}
	}
	nodePorts: [{port: 6443, protocol: "TCP", purpose: "API", on: ["server"], from: ["nodes", "lan"]}]
	externals: [{name: "lan", cidr: "10.0.0.0/16", description: "the LAN"}]
	nodes: [
`)
	for i := range s.nodes {
		role := "agent"
		if i < 3 {
			role = "server"
		}
		gpu := ""
		if i%10 == 9 {
			gpu = `, gpus: [{vendor: "nvidia", model: "RTX", memoryGiB: 24}], taints: [{key: "nvidia.com/gpu", value: "true", effect: "NoSchedule"}]`
		}
		fmt.Fprintf(&b, "\t\t{name: \"node-%d\", ip: \"10.0.%d.%d\", role: %q%s},\n", i, 1+i/250, 1+i%250, role, gpu)
	}
	b.WriteString("\t]\n\tapps: {\n")
	fromLAN := map[int]bool{}
	for i := 0; i < s.flows; i += 7 {
		fromLAN[(i+1)%s.apps] = true
	}
	for i := range s.apps {
		lb := ""
		if fromLAN[i] {
			lb = fmt.Sprintf(`, loadBalancers: [{ip: "10.0.%d.%d", ports: [{name: "http", port: 80}]}]`, 200+i/250, i%250)
		}
		gpu := ""
		if i%50 == 7 && s.nodes >= 10 {
			gpu = ", placement: gpus: 1"
		}
		fmt.Fprintf(&b, `		"app-%d": {
			namespace: "ns-%d"
			component: "container"
			description: "synthetic app %d"
			container: {image: "docker.io/library/nginx:1.27", env: {INDEX: "%d"}}
			workloads: [{name: "app-%d", selector: "app.kubernetes.io/name": "app-%d", ports: [{name: "http", port: 80, targetPort: 8080}]%s%s}]
		}
`, i, i/10, i, i, i, i, lb, gpu)
	}
	b.WriteString("\t}\n\tflows: [\n")
	for i := range s.flows {
		from := fmt.Sprintf("app-%d", i%s.apps)
		if i%7 == 0 {
			from = "lan"
		}
		fmt.Fprintf(&b, "\t\t{from: %q, to: \"app-%d\", port: \"http\", purpose: \"flow %d\"},\n", from, (i+1)%s.apps, i)
	}
	b.WriteString("\t]\n}\n")

	fsys := schemaModule()
	fsys["clusters/synthetic/cluster.cue"] = &fstest.MapFile{Data: []byte(b.String())}
	return render.Source{FS: fsys, Display: "synthetic"}
}

// schemaModule is the project's CUE module without its clusters: the
// module file and every schema file, for tests to add a cluster to.
func schemaModule() fstest.MapFS {
	names, err := fs.Glob(cuemodule.FS, "schema/*.cue")
	if err != nil {
		panic(err)
	}
	fsys := fstest.MapFS{}
	for _, name := range append(names, "cue.mod/module.cue") {
		data, err := cuemodule.FS.ReadFile(name)
		if err != nil {
			panic(err)
		}
		fsys[name] = &fstest.MapFile{Data: data}
	}
	return fsys
}
