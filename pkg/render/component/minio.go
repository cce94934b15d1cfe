package component

import (
	"fmt"
	"strconv"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() { register("minio", MinIO) }

// The settings of a "minio" app.
const (
	// minioBuckets lists the buckets the chart's post-install job creates.
	minioBuckets = "buckets"
	// minioSize sizes the data volume; the chart's size otherwise.
	minioSize = "size"
	// minioMemory is the memory the server requests.
	minioMemory = "memory"
)

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
func MinIO(c *model.Cluster, app model.App) ([]Unit, error) {
	if err := knownSettings(app, minioBuckets, minioSize, minioMemory); err != nil {
		return nil, err
	}
	w, err := soleWorkload(app)
	if err != nil {
		return nil, err
	}
	api, err := findPort(app, w, minioAPIPortName)
	if err != nil {
		return nil, err
	}
	console, err := findPort(app, w, minioConsolePortName)
	if err != nil {
		return nil, err
	}
	secret, err := secretHolding(app, "rootUser", "rootPassword")
	if err != nil {
		return nil, err
	}
	// The chart labels its pods with its name and the release's.
	if err := selectsPods(app, w, "the MinIO chart", map[string]string{"app": app.Helm.Chart.Name, "release": app.Name}); err != nil {
		return nil, err
	}

	// With fullnameOverride, the chart's Services are named after the app.
	apiService, consoleService := app.Name, app.Name+"-console"
	var apiLB, consoleLB *model.LoadBalancer
	others := w
	others.LoadBalancers = nil
	for _, lb := range w.LoadBalancers {
		switch lb.Service {
		case apiService:
			apiLB = &lb
		case consoleService:
			consoleLB = &lb
		default:
			others.LoadBalancers = append(others.LoadBalancers, lb)
		}
	}
	service, err := chartService(app, w, api, apiLB, "")
	if err != nil {
		return nil, fmt.Errorf("Service %s: %w", apiService, err)
	}
	consoleValues, err := chartService(app, w, console, consoleLB, "")
	if err != nil {
		return nil, fmt.Errorf("Service %s: %w", consoleService, err)
	}

	buckets := []any{}
	for _, name := range settingList(app, minioBuckets) {
		buckets = append(buckets, Values{"name": name, "policy": "none", "purge": false, "versioning": false})
	}
	persistence := volumeValues(app, "storageClass", minioSize)
	persistence["enabled"] = true
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
		"resources":   Values{"requests": Values{"memory": setting(app, minioMemory, minioDefaultMemory)}},
		// The credentials live in the owner's Secret; checksums would only
		// restart the server on upgrades that change nothing.
		"ignoreChartChecksums": true,
	}
	objects, err := chart(app, values)
	if err != nil {
		return nil, err
	}
	objects = append(objects, loadBalancerServices(app, others)...)
	return []Unit{appUnit(app, objects...)}, nil
}
