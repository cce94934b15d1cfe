package component

import (
	"fmt"
	"slices"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() {
	register(Definition[ClearMLSettings]{Name: "clearml", Block: "helm", ChartPods: true, Render: ClearML})
}

// ClearMLSettings are the settings of a "clearml" app (cue/schema/clearml.cue).
type ClearMLSettings struct {
	// MongoDBApp and RedisApp name the apps serving ClearML's MongoDB and
	// Redis ("app" or "app/workload"); their Service and port come from
	// the model.
	MongoDBApp string `json:"mongodbApp"`
	RedisApp   string `json:"redisApp"`
	// FileserverSize and ElasticsearchSize size the file server's volume
	// and the bundled Elasticsearch's; the chart's otherwise.
	FileserverSize    model.Quantity `json:"fileserverSize,omitempty"`
	ElasticsearchSize model.Quantity `json:"elasticsearchSize,omitempty"`
}

// clearmlServers are the chart's servers: each is a workload of the app,
// a block of values and a Service named <app>-<server>.
var clearmlServers = []string{"apiserver", "fileserver", "webserver"}

// clearmlSecretKeys are the keys the chart reads from clearml.existingSecret:
// the API server's (7.15.0 templates/apiserver-deployment.yaml) and the
// file server's (templates/fileserver-deployment.yaml:90-98, USER_KEY and
// USER_SECRET), which the values' comment does not list.
var clearmlSecretKeys = []string{"apiserver_key", "apiserver_secret", "fileserver_key", "fileserver_secret", "secure_auth_token_secret", "test_user_key", "test_user_secret"}

// clearmlChartSecret is the Secret the chart always renders, whatever the
// values (7.15.0 templates/clearml-secrets.yaml, no condition), with the
// published default credentials; the pods read clearml.existingSecret
// instead (templates/_helpers.tpl, clearml.confSecretName). An owner's
// Secret of that name collides with it: Helm refuses to install over it,
// or, adopting it, overwrites the owner's keys with the defaults.
const clearmlChartSecret = "clearml-conf"

// clearmlElasticsearchWorkload is the workload of the bundled Elasticsearch.
const clearmlElasticsearchWorkload = "elasticsearch"

// ClearML renders the "clearml" component: the ClearML server chart (7.15
// or later) with its Elasticsearch bundled, and MongoDB and Redis served
// by the apps the settings name instead of its Bitnami MongoDB and its
// Dragonfly. The credentials come from the app's Secret holding the keys
// the chart reads. Each server's Service has the port of its workload,
// and is a LoadBalancer on the model's IP when the workload has one; the
// SDK configuration the web UI shows then points at those addresses.
func ClearML(m *model.Model, app *model.App, s ClearMLSettings) ([]Unit, error) {
	var problems model.Problems
	secret, err := secretHolding(app, clearmlSecretKeys...)
	problems.Add(nil, err)
	if i, ok := app.Secret(clearmlChartSecret); ok {
		problems.Add(nil, model.Problemf(app.Path("secrets", i, "name"), "the ClearML chart renders a Secret %s of its own, with the published default credentials, whatever the values; an owner's Secret of that name collides with it (Helm refuses to install, or overwrites the owner's keys); name it otherwise, such as %s-credentials",
			clearmlChartSecret, app.Name))
	}
	mongo, err := backingService(m, app.Path("settings", "mongodbApp"), s.MongoDBApp)
	problems.Add(nil, err)
	redis, err := backingService(m, app.Path("settings", "redisApp"), s.RedisApp)
	problems.Add(nil, err)
	if len(problems) > 0 {
		return nil, problems
	}

	clearml := Values{"existingSecret": secret}
	values := Values{
		// The chart names its Services and labels its pods after this.
		"fullnameOverride": app.Name,
		"clearml":          clearml,
		"mongodb":          Values{"enabled": false},
		"dragonfly":        Values{"enabled": false},
		"externalServices": Values{
			"mongodbConnectionStringAuth":    fmt.Sprintf("mongodb://%s:%d/auth", mongo.Host, mongo.Port),
			"mongodbConnectionStringBackend": fmt.Sprintf("mongodb://%s:%d/backend", mongo.Host, mongo.Port),
			// Where the pods find Redis when Dragonfly is off (7.15.0
			// templates/_helpers.tpl, dragonfly.servicename and
			// dragonfly.serviceport; values.yaml externalServices).
			"redisHost": redis.Host,
			"redisPort": redis.Port,
		},
	}
	urls := map[string]string{}
	for _, server := range clearmlServers {
		w, err := workload(app, server)
		if err != nil {
			return nil, err
		}
		if len(w.Workload.Ports) != 1 {
			return nil, model.Problemf(w.Path("ports"), "%s: the ClearML chart's %s serves one port, and the workload declares %s", w.Key(), server, w.Workload.PortNames())
		}
		p := w.Workload.Ports[0]
		service := app.Name + "-" + server
		labels := map[string]string{"app.kubernetes.io/name": app.Name, "app.kubernetes.io/instance": service}
		if err := selectsPods(w, "the ClearML chart", labels); err != nil {
			return nil, err
		}
		lb, err := onlyLoadBalancer(w)
		if err != nil {
			return nil, err
		}
		if lb != nil {
			if lb.Service != "" && lb.Service != service {
				return nil, model.Problemf(w.Path("loadBalancers", 0, "service"), "%s: the LoadBalancer on %s is the chart's Service %s; drop its service name %q or set it to %q", w.Key(), lb.IP, service, lb.Service, service)
			}
			urls[server] = fmt.Sprintf("http://%s:%d", lb.IP, p.Port)
		}
		// The chart's default type is NodePort: keep what the model does not ask for closed.
		svc, err := chartService(w, p, lb, "ClusterIP")
		if err != nil {
			return nil, err
		}
		values[server] = Values{"service": svc}
	}
	if url := urls["apiserver"]; url != "" {
		clearml["clientConfigurationApiUrl"] = url
	}
	if url := urls["fileserver"]; url != "" {
		clearml["clientConfigurationFilesUrl"] = url
	}

	elasticClaim := Values{}
	if app.StorageClass != "" {
		elasticClaim["storageClassName"] = app.StorageClass
	}
	if s.ElasticsearchSize != "" {
		elasticClaim["resources"] = Values{"requests": Values{"storage": s.ElasticsearchSize}}
	}
	values["fileserver"].(Values)["storage"] = Values{"data": volumeValues(app, "class", s.FileserverSize)}

	// The Elasticsearch chart names its Service <cluster>-master and
	// labels its pods app: <cluster>-master.
	elasticCluster := app.Name + "-elastic"
	values["elasticsearch"] = Values{"clusterName": elasticCluster, "volumeClaimTemplate": elasticClaim}
	if w, ok := app.Workload(clearmlElasticsearchWorkload); ok {
		if err := selectsPods(w, "the Elasticsearch chart", map[string]string{"app": elasticCluster + "-master"}); err != nil {
			return nil, err
		}
	}

	objects, err := chart(app, values)
	if err != nil {
		return nil, err
	}
	// The other workloads' LoadBalancers are Services of their own.
	for _, w := range app.WorkloadSets() {
		if !slices.Contains(clearmlServers, w.Workload.Name) {
			objects = append(objects, loadBalancerServices(w, w.Workload.LoadBalancers)...)
		}
	}
	u := appUnit(app, withReleaseTimeout(objects, slowReleaseTimeout)...)
	u.ValueOrigins = map[string]model.Path{
		"clearml.existingSecret":                          app.Path("secrets"),
		"externalServices.mongodbConnectionStringAuth":    app.Path("settings", "mongodbApp"),
		"externalServices.mongodbConnectionStringBackend": app.Path("settings", "mongodbApp"),
		"externalServices.redisHost":                      app.Path("settings", "redisApp"),
		"externalServices.redisPort":                      app.Path("settings", "redisApp"),
		"fileserver.storage":                              app.Path("settings", "fileserverSize"),
		"elasticsearch.volumeClaimTemplate":               app.Path("settings", "elasticsearchSize"),
	}
	return []Unit{u}, nil
}
