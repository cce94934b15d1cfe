package component

import (
	"fmt"
	"slices"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() { register("clearml", ClearML) }

// The settings of a "clearml" app.
const (
	// clearmlMongoApp and clearmlRedisApp name the apps serving ClearML's
	// MongoDB and Redis ("app" or "app/workload"); their Service and port
	// come from the model.
	clearmlMongoApp = "mongodbApp"
	clearmlRedisApp = "redisApp"
	// clearmlElasticsearchSize and clearmlFileserverSize size the bundled
	// Elasticsearch's volume and the file server's; the chart's otherwise.
	clearmlElasticsearchSize = "elasticsearchSize"
	clearmlFileserverSize    = "fileserverSize"
)

// clearmlServers are the chart's servers: each is a workload of the app,
// a block of values and a Service named <app>-<server>.
var clearmlServers = []string{"apiserver", "fileserver", "webserver"}

// clearmlSecretKeys are the keys the chart reads from clearml.existingSecret.
var clearmlSecretKeys = []string{"apiserver_key", "apiserver_secret", "secure_auth_token_secret", "test_user_key", "test_user_secret"}

// clearmlElasticsearchWorkload is the workload of the bundled Elasticsearch.
const clearmlElasticsearchWorkload = "elasticsearch"

// ClearML renders the "clearml" component: the ClearML server chart (7.15
// or later) with its Elasticsearch bundled, and MongoDB and Redis served
// by the apps the settings name instead of its Bitnami MongoDB and its
// Dragonfly. The credentials come from the app's Secret holding the keys
// the chart reads. Each server's Service has the port of its workload,
// and is a LoadBalancer on the model's IP when the workload has one; the
// SDK configuration the web UI shows then points at those addresses.
func ClearML(c *model.Cluster, app model.App) ([]Unit, error) {
	if err := knownSettings(app, clearmlMongoApp, clearmlRedisApp, clearmlElasticsearchSize, clearmlFileserverSize); err != nil {
		return nil, err
	}
	secret, err := secretHolding(app, clearmlSecretKeys...)
	if err != nil {
		return nil, err
	}
	mongo, err := backingService(c, app, clearmlMongoApp)
	if err != nil {
		return nil, err
	}
	redis, err := backingService(c, app, clearmlRedisApp)
	if err != nil {
		return nil, err
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
			"dragonflyHost":                  redis.Host,
			"dragonflyPort":                  redis.Port,
		},
	}
	urls := map[string]string{}
	for _, server := range clearmlServers {
		w, err := workload(app, server)
		if err != nil {
			return nil, err
		}
		if len(w.Ports) != 1 {
			return nil, fmt.Errorf("%s/%s: the ClearML chart's %s serves one port, and the workload declares %s", app.Name, w.Name, server, w.PortNames())
		}
		p := w.Ports[0]
		service := app.Name + "-" + server
		labels := map[string]string{"app.kubernetes.io/name": app.Name, "app.kubernetes.io/instance": service}
		if err := selectsPods(app, w, "the ClearML chart", labels); err != nil {
			return nil, err
		}
		lb, ok, err := onlyLoadBalancer(app, w)
		if err != nil {
			return nil, err
		}
		var onLB *model.LoadBalancer
		if ok {
			if lb.Service != "" && lb.Service != service {
				return nil, fmt.Errorf("%s/%s: the LoadBalancer on %s is the chart's Service %s; drop its service name %q or set it to %q", app.Name, w.Name, lb.IP, service, lb.Service, service)
			}
			onLB = &lb
			urls[server] = fmt.Sprintf("http://%s:%d", lb.IP, p.Port)
		}
		// The chart's default type is NodePort: keep what the model does not ask for closed.
		svc, err := chartService(app, w, p, onLB, "ClusterIP")
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

	fileserverData := volumeValues(app, "class", clearmlFileserverSize)
	elasticClaim := Values{}
	if app.StorageClass != "" {
		elasticClaim["storageClassName"] = app.StorageClass
	}
	if size := setting(app, clearmlElasticsearchSize, ""); size != "" {
		elasticClaim["resources"] = Values{"requests": Values{"storage": size}}
	}
	values["fileserver"].(Values)["storage"] = Values{"data": fileserverData}

	// The Elasticsearch chart names its Service <cluster>-master and
	// labels its pods app: <cluster>-master.
	elasticCluster := app.Name + "-elastic"
	values["elasticsearch"] = Values{"clusterName": elasticCluster, "volumeClaimTemplate": elasticClaim}
	if w, err := workload(app, clearmlElasticsearchWorkload); err == nil {
		if err := selectsPods(app, w, "the Elasticsearch chart", map[string]string{"app": elasticCluster + "-master"}); err != nil {
			return nil, err
		}
	}

	objects, err := chart(app, values)
	if err != nil {
		return nil, err
	}
	// The other workloads' LoadBalancers are Services of their own.
	for _, w := range app.Workloads {
		if !slices.Contains(clearmlServers, w.Name) {
			objects = append(objects, loadBalancerServices(app, w)...)
		}
	}
	u := appUnit(app, objects...)
	u.Timeout = slowChartTimeout
	return []Unit{u}, nil
}
