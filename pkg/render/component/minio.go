package component

import (
	"cmp"
	"strconv"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() {
	register(Definition[MinIOSettings]{Name: "minio", Block: "helm", ChartPods: true, Render: MinIO})
}

// MinIOSettings are the settings of a "minio" app (cue/schema/minio.cue).
type MinIOSettings struct {
	// Buckets are created by the chart's post-install Job.
	Buckets []string `json:"buckets,omitempty"`
	// Size sizes the data volume; the chart's size otherwise.
	Size model.Quantity `json:"size,omitempty"`
	// Memory is what the server requests.
	Memory model.Quantity `json:"memory,omitempty"`
}

// minioDefaultMemory replaces the chart's request of 16Gi, which no small
// node can schedule.
const minioDefaultMemory = "1Gi"

// The names of the workload's ports: the S3 API and the web console.
const (
	minioAPIPortName     = "api"
	minioConsolePortName = "console"
)

// MinIO renders the "minio" component: the MinIO community chart as one
// standalone server (a Deployment and its volume), root credentials from
// the app's Secret holding rootUser and rootPassword, the buckets of the
// settings, and the chart's two Services (<app> for the S3 API,
// <app>-console for the console) on the workload's ports. A LoadBalancer
// of the model whose service is one of those names makes that Service a
// LoadBalancer on its IP; any other gets a Service of its own.
func MinIO(m *model.Model, app *model.App, s MinIOSettings) ([]Unit, error) {
	w, err := soleWorkload(app)
	if err != nil {
		return nil, err
	}
	var problems model.Problems
	api, err := findPort(w, minioAPIPortName)
	problems.Add(nil, err)
	console, err := findPort(w, minioConsolePortName)
	problems.Add(nil, err)
	secret, err := secretHolding(app, "rootUser", "rootPassword")
	problems.Add(nil, err)
	// The chart labels its pods with its name and the release's.
	problems.Add(nil, selectsPods(w, "the MinIO chart", map[string]string{"app": app.Helm.Chart.Name, "release": app.Name}))
	if len(problems) > 0 {
		return nil, problems
	}

	// With fullnameOverride, the chart's Services are named after the app.
	apiService, consoleService := app.Name, app.Name+"-console"
	var apiLB, consoleLB *model.LoadBalancer
	var others []model.LoadBalancer
	for i := range w.Workload.LoadBalancers {
		switch lb := &w.Workload.LoadBalancers[i]; lb.Service {
		case apiService:
			apiLB = lb
		case consoleService:
			consoleLB = lb
		default:
			others = append(others, *lb)
		}
	}
	service, err := chartService(w, api, apiLB, "")
	if err != nil {
		return nil, err
	}
	consoleValues, err := chartService(w, console, consoleLB, "")
	if err != nil {
		return nil, err
	}

	buckets := []any{}
	for _, name := range s.Buckets {
		buckets = append(buckets, Values{"name": name, "policy": "none", "purge": false, "versioning": false})
	}
	persistence := volumeValues(app, "storageClass", s.Size)
	persistence["enabled"] = true
	memory := cmp.Or(s.Memory, minioDefaultMemory)
	values := Values{
		"fullnameOverride": app.Name,
		"mode":             "standalone",
		"existingSecret":   secret,
		// The pod's ports, which the chart's Services target.
		"minioAPIPort":     strconv.Itoa(api.TargetPort),
		"minioConsolePort": strconv.Itoa(console.TargetPort),
		"service":          service,
		"consoleService":   consoleValues,
		"buckets":          buckets,
		// The chart creates a user "console" with a published password
		// unless told otherwise.
		"users":       []any{},
		"persistence": persistence,
		"resources":   Values{"requests": Values{"memory": memory}},
		// The credentials live in the owner's Secret; checksums would only
		// restart the server on upgrades that change nothing.
		"ignoreChartChecksums": true,
	}
	objects, err := chart(app, values)
	if err != nil {
		return nil, err
	}
	u := appUnit(app, append(objects, loadBalancerServices(w, others)...)...)
	return []Unit{u}, nil
}
