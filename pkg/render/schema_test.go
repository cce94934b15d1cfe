package render_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/polylab/polylab-gitops/pkg/render"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// schemaBase is a small valid cluster that uses every kind of value the
// schema constrains, for TestSchemaMessages to break one value at a time.
const schemaBase = `package tiny

import "polylab.dev/gitops/schema"

cluster: schema.#Cluster & {
	name: "tiny"
	domain: "cluster.local"
	flux: {url: "https://git.example.com/tiny.git", branch: "main", interval: "1m", sops: secretName: "sops-age"}
	versions: {
		k3s:  "v1.35.7+k3s1"
		flux: "v2.9.4"
		fluxOperator: {repository: "oci://ghcr.io/controlplaneio-fluxcd/charts", name: "flux-operator", version: "0.59.0"}
		charts: podinfo: {repository: "https://stefanprodan.github.io/podinfo", name: "podinfo", version: "6.9.2"}
		images: nginx: "docker.io/library/nginx:1.27"
		installers: k3s: {
			commit: "4dedb15be78017a8ddd5b9e81acd44f3481078ed"
			sha256: "46177d4c99440b4c0311b67233823a8e8a2fc09693f6c89af1a7161e152fbfad"
			binarySHA256: {amd64: "", arm64: ""}
		}
	}
	network: {
		lan:      "10.0.0.0/24"
		pods:     "10.42.0.0/16"
		services: "10.43.0.0/16"
		apiVIP:   "10.0.0.5"
		apiPort:  6443
		sshPort:  22
		loadBalancerPool: {first: "10.0.0.200", last: "10.0.0.210"}
		flannelBackend: "vxlan"
	}
	nodes: [
		{name: "s1", ip: "10.0.0.11", role: "server", arch: "amd64", planned: false, storage: true, hardware: {cores: 4, memoryGiB: 8, diskGiB: 256}, labels: "example.com/rack": "a"},
		{name: "g1", ip: "10.0.0.12", role: "agent", gpus: [{vendor: "nvidia", model: "RTX A6000", count: 1, memoryGiB: 48}], taints: [{key: "nvidia.com/gpu", value: "true", effect: "NoSchedule"}]},
	]
	nodePorts: [{port: 6443, protocol: "TCP", purpose: "the API", on: ["server"], from: ["nodes", "lan"]}]
	externals: [{name: "lan", cidr: "10.0.0.0/24", description: "the home LAN"}]
	apps: web: {
		namespace:     "web"
		component:     "container"
		layer:         "apps"
		description:   "a web server"
		openNamespace: false
		secrets: [{name: "web-env", keys: ["token"], type: "Opaque", generate: token: password: 32}]
		container: {
			image:    versions.images.nginx
			replicas: 1
			envFrom: [{secret: "web-env"}]
			envSecrets: TOKEN: {secret: "web-env", key: "token"}
			volumes: [{name: "data", mountPath: "/data", size: "1Gi"}]
			resources: requests: {cpu: "100m", memory: "64Mi"}
		}
		workloads: [{
			name: "web"
			selector: app: "web"
			ports: [{name: "http", port: 80, targetPort: 8080, protocol: "TCP"}]
			loadBalancers: [{ip: "10.0.0.200", ports: [{name: "http", port: 80}]}]
			placement: gpus: 0
			apiServer:   false
			hostNetwork: false
		}]
	}
	apps: podinfo: {
		namespace:   "podinfo"
		component:   "helm"
		description: "a chart"
		helm: chart: versions.charts.podinfo
		workloads: [{name: "podinfo", selector: "app.kubernetes.io/name": "podinfo", ports: [{name: "http", port: 9898}]}]
	}
	flows: [
		{from: "lan", to: "web", port: "http", purpose: "browsers"},
		{from: "web", to: "podinfo", port: 9898, purpose: "the pages call the API"},
	]
}
`

// schemaComponents adds the components whose settings and blocks the
// schema types: a function and CVAT (which loads, and would not render:
// its settings name apps it does not have).
const schemaComponents = `
cluster: apps: detector: {
	namespace:   "web"
	component:   "nuclio-function"
	description: "a function"
	function: {image: "ghcr.io/example/detector:1.0", deployerImage: "registry.k8s.io/kubectl:v1.35.6", runtime: "python:3.11", handler: "main:handler", project: "cvat", minReplicas: 1, maxReplicas: 1, eventTimeout: "30s", labels: ["person"]}
	workloads: [{name: "function", selector: "nuclio.io/function-name": "detector"}]
}
cluster: apps: cvat: {
	namespace:   "cvat"
	component:   "cvat"
	description: "annotation"
	helm: chart: {repository: "oci://registry-1.docker.io/cvat", name: "cvat", version: "v2.56.1"}
	settings: {postgresApp: "db", redisApp: "redis", postgresSecret: "db", redisSecret: "redis", kvrocksSecret: "kvrocks", hostname: "cvat.example.lan", ingressClass: "traefik", nuclioProjects: ["cvat"], storageSize: "20Gi"}
}
cluster: apps: minio: {
	namespace:   "minio"
	component:   "minio"
	description: "S3"
	helm: chart: {repository: "https://charts.min.io", name: "minio", version: "5.4.0"}
	settings: {buckets: ["data"], size: "50Gi", memory: "1Gi"}
}
`

// loadTiny loads a cluster file as package tiny of the project's schema.
func loadTiny(cluster string) (*model.Model, error) {
	fsys := schemaModule()
	fsys["clusters/tiny/cluster.cue"] = &fstest.MapFile{Data: []byte(cluster)}
	return render.Load(render.Source{FS: fsys, Display: "cue"}, "tiny")
}

// cueSyntax is what CUE writes when a constraint has no words of its own:
// the constraint itself, or the alternatives of a disjunction.
var cueSyntax = regexp.MustCompile(`=~|!~|>=|<=|out of bound|empty disjunction|conflicting values|mismatched types|incomplete value|invalid value`)

// TestSchemaMessages breaks one value of every constrained kind and checks
// that the owner reads one problem, at the value's path and in the owner's
// file, in the schema's own words: never CUE's syntax, never once per
// alternative of a disjunction.
func TestSchemaMessages(t *testing.T) {
	base := schemaBase + schemaComponents
	if _, err := loadTiny(base); err != nil {
		var b strings.Builder
		render.PrintError(&b, err, "")
		t.Fatalf("the base cluster does not load:\n%s", b.String())
	}
	for _, tc := range []struct{ what, old, new, path string }{
		{"a name", `name: "s1"`, `name: "S_1"`, "nodes.0.name"},
		{"an IPv4 address", `apiVIP:   "10.0.0.5"`, `apiVIP: "10.0.0.256"`, "network.apiVIP"},
		{"a CIDR", `pods:     "10.42.0.0/16"`, `pods: "10.42.0.0/33"`, "network.pods"},
		{"a port", `apiPort:  6443`, `apiPort: 0`, "network.apiPort"},
		{"the SSH port", `sshPort:  22`, `sshPort: 70000`, "network.sshPort"},
		{"a flannel backend", `flannelBackend: "vxlan"`, `flannelBackend: "vx"`, "network.flannelBackend"},
		{"a duration", `interval: "1m"`, `interval: "1 minute"`, "flux.interval"},
		{"the Flux URL", `url: "https://git.example.com/tiny.git"`, `url: "git@example.com:tiny.git"`, "flux.url"},
		{"the Flux branch", `branch: "main"`, `branch: 1`, "flux.branch"},
		{"the SOPS Secret", `secretName: "sops-age"`, `secretName: "SOPS age"`, "flux.sops.secretName"},
		{"the cluster's domain", `domain: "cluster.local"`, `domain: "Cluster.Local"`, "domain"},
		{"the K3s version", `k3s:  "v1.35.7+k3s1"`, `k3s: "1.35"`, "versions.k3s"},
		{"the Flux version", `flux: "v2.9.4"`, `flux: "2.9"`, "versions.flux"},
		{"a chart repository", `repository: "https://stefanprodan.github.io/podinfo"`, `repository: "stefanprodan.github.io/podinfo"`, "versions.charts.podinfo.repository"},
		{"a chart version", `version: "6.9.2"`, `version: "^6.9"`, "versions.charts.podinfo.version"},
		{"a chart's name in versions", `charts: podinfo:`, `charts: "Pod Info":`, `versions.charts."Pod Info"`},
		{"an image", `nginx: "docker.io/library/nginx:1.27"`, `nginx: "docker.io/library/nginx"`, "versions.images.nginx"},
		{"an installer commit", `commit: "4dedb15be78017a8ddd5b9e81acd44f3481078ed"`, `commit: "main"`, "versions.installers.k3s.commit"},
		{"an installer sha256", `sha256: "46177d4c99440b4c0311b67233823a8e8a2fc09693f6c89af1a7161e152fbfad"`, `sha256: "46177d4c"`, "versions.installers.k3s.sha256"},
		{"a binary's sha256", `binarySHA256: {amd64: "", arm64: ""}`, `binarySHA256: {amd64: "xyz", arm64: ""}`, "versions.installers.k3s.binarySHA256.amd64"},
		{"a binary's architecture", `binarySHA256: {amd64: "", arm64: ""}`, `binarySHA256: {amd64: "", riscv64: ""}`, "versions.installers.k3s.binarySHA256.riscv64"},
		{"a role", `role: "server"`, `role: "master"`, "nodes.0.role"},
		{"an architecture", `arch: "amd64"`, `arch: "x86_64"`, "nodes.0.arch"},
		{"a flag", `planned: false`, `planned: "no"`, "nodes.0.planned"},
		{"storage", `storage: true`, `storage: 1`, "nodes.0.storage"},
		{"a core count", `cores: 4`, `cores: 0`, "nodes.0.hardware.cores"},
		{"a memory size", `memoryGiB: 8`, `memoryGiB: -8`, "nodes.0.hardware.memoryGiB"},
		{"a disk size", `diskGiB: 256`, `diskGiB: 2.5`, "nodes.0.hardware.diskGiB"},
		{"a label key", `labels: "example.com/rack": "a"`, `labels: "rack name": "a"`, `nodes.0.labels."rack name"`},
		{"a label value", `labels: "example.com/rack": "a"`, `labels: "example.com/rack": "a b"`, `nodes.0.labels."example.com/rack"`},
		{"a GPU vendor", `vendor: "nvidia"`, `vendor: "amd"`, "nodes.1.gpus.0.vendor"},
		{"a GPU count", `count: 1`, `count: 0`, "nodes.1.gpus.0.count"},
		{"a GPU's memory", `memoryGiB: 48`, `memoryGiB: 0`, "nodes.1.gpus.0.memoryGiB"},
		{"a taint key", `key: "nvidia.com/gpu"`, `key: "nvidia gpu"`, "nodes.1.taints.0.key"},
		{"a taint value", `value: "true", effect`, `value: "yes please", effect`, "nodes.1.taints.0.value"},
		{"a taint effect", `effect: "NoSchedule"`, `effect: "NoRun"`, "nodes.1.taints.0.effect"},
		{"a node port's protocol", `protocol: "TCP", purpose: "the API"`, `protocol: "tcp", purpose: "the API"`, "nodePorts.0.protocol"},
		{"a node port's roles", `on: ["server"]`, `on: ["servers"]`, "nodePorts.0.on.0"},
		{"a node port's sources", `from: ["nodes", "lan"]`, `from: ["nodes", "wan"]`, "nodePorts.0.from.1"},
		{"a component", `component:     "container"`, `component: "containers"`, "apps.web.component"},
		{"a layer", `layer:         "apps"`, `layer: "app"`, "apps.web.layer"},
		{"openNamespace", `openNamespace: false`, `openNamespace: "no"`, "apps.web.openNamespace"},
		{"replicas", `replicas: 1`, `replicas: -1`, "apps.web.container.replicas"},
		{"an envFrom entry with two sources", `envFrom: [{secret: "web-env"}]`, `envFrom: [{secret: "web-env", configMap: "web"}]`, "apps.web.container.envFrom.0"},
		{"an envFrom entry without a source", `envFrom: [{secret: "web-env"}]`, `envFrom: [{}]`, "apps.web.container.envFrom.0"},
		{"a volume size", `size: "1Gi"`, `size: "1GB"`, "apps.web.container.volumes.0.size"},
		{"a volume without a source", `, size: "1Gi"}`, `}`, "apps.web.container.volumes.0"},
		{"a volume with two sources", `size: "1Gi"}`, `size: "1Gi", secret: "web-env"}`, "apps.web.container.volumes.0"},
		{"a mount path", `mountPath: "/data"`, `mountPath: "data"`, "apps.web.container.volumes.0.mountPath"},
		{"a port name", `name: "http", port: 80,`, `name: "HTTP", port: 80,`, "apps.web.workloads.0.ports.0.name"},
		{"a target port", `targetPort: 8080`, `targetPort: 0`, "apps.web.workloads.0.ports.0.targetPort"},
		{"a port's protocol", `protocol: "TCP"}]`, `protocol: "SCTP"}]`, "apps.web.workloads.0.ports.0.protocol"},
		{"a selector", `selector: app: "web"`, `selector: "my app": "web"`, `apps.web.workloads.0.selector."my app"`},
		{"a LoadBalancer port", `ports: [{name: "http", port: 80}]}]`, `ports: [{name: "http", port: 0}]}]`, "apps.web.workloads.0.loadBalancers.0.ports.0.port"},
		{"a GPU request", `gpus: 0`, `gpus: 0.5`, "apps.web.workloads.0.placement.gpus"},
		{"a workload flag", `apiServer:   false`, `apiServer: "no"`, "apps.web.workloads.0.apiServer"},
		{"a flow's port number", `port: 9898, purpose`, `port: 0, purpose`, "flows.1.port"},
		{"a flow's port of another type", `port: 9898, purpose`, `port: true, purpose`, "flows.1.port"},
		{"a function's project", `project: "cvat"`, `project: "CVAT"`, "apps.detector.function.project"},
		{"a function's label", `labels: ["person"]`, `labels: [""]`, "apps.detector.function.labels.0"},
		{"a Secret's type", `type: "Opaque"`, `type: "opaque"`, "apps.web.secrets.0.type"},
		{"a short generated password", `generate: token: password: 32`, `generate: token: password: 8`, "apps.web.secrets.0.generate.token"},
		{"a misspelt way to generate", `generate: token: password: 32`, `generate: token: passwrd: 32`, "apps.web.secrets.0.generate.token"},
		{"two ways to generate", `generate: token: password: 32`, `generate: token: {password: 32, value: "x"}`, "apps.web.secrets.0.generate.token"},
		{"no way to generate", `generate: token: password: 32`, `generate: token: {}`, "apps.web.secrets.0.generate.token"},
		{"a function's replicas", `minReplicas: 1`, `minReplicas: -1`, "apps.detector.function.minReplicas"},
		{"a function's most replicas", `maxReplicas: 1`, `maxReplicas: 0`, "apps.detector.function.maxReplicas"},
		{"a function's timeout", `eventTimeout: "30s"`, `eventTimeout: "30 s"`, "apps.detector.function.eventTimeout"},
		{"a function's image", `image: "ghcr.io/example/detector:1.0"`, `image: "ghcr.io/example/detector"`, "apps.detector.function.image"},
		{"CVAT's host name", `hostname: "cvat.example.lan"`, `hostname: "cvat example.lan"`, "apps.cvat.settings.hostname"},
		{"CVAT's Nuclio projects", `nuclioProjects: ["cvat"]`, `nuclioProjects: ["CVAT"]`, "apps.cvat.settings.nuclioProjects"},
		{"CVAT's ingress class", `ingressClass: "traefik"`, `ingressClass: "Traefik"`, "apps.cvat.settings.ingressClass"},
		{"a misspelt setting", `storageSize: "20Gi"`, `storagesize: "20Gi"`, "apps.cvat.settings.storagesize"},
		{"a bucket's name", `buckets: ["data"]`, `buckets: ["Data"]`, "apps.minio.settings.buckets.0"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			if strings.Count(base, tc.old) != 1 {
				t.Fatalf("the base holds %q %d times, want once", tc.old, strings.Count(base, tc.old))
			}
			_, err := loadTiny(strings.Replace(base, tc.old, tc.new, 1))
			var ps model.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want Problems, got %v", err)
			}
			var b strings.Builder
			render.PrintError(&b, err, "")
			if len(ps) != 1 {
				t.Fatalf("%d problems, want one:\n%s", len(ps), b.String())
			}
			p := ps[0]
			if got := p.Value.String(); got != tc.path {
				t.Errorf("the problem is at %s, want %s:\n%s", got, tc.path, b.String())
			}
			// A field the schema does not have is CUE's "field not allowed",
			// with the field it most likely meant; anything else is the schema's.
			if cueSyntax.MatchString(p.Message) || (strings.Contains(p.Message, "field not allowed") && !strings.Contains(p.Message, "did you mean")) {
				t.Errorf("the message shows CUE's syntax, not the schema's words:\n%s", b.String())
			}
			if len(p.Positions) == 0 || !strings.HasSuffix(p.Positions[0].Filename(), "clusters/tiny/cluster.cue") {
				t.Errorf("the problem does not point at the owner's file:\n%s", b.String())
			}
		})
	}
}
