package component

import (
	"strings"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() {
	register(Definition[CVATSettings]{Name: "cvat", Block: "helm", ChartPods: true, Render: CVAT})
}

// CVATSettings are the settings of a "cvat" app (cue/schema/cvat.cue).
type CVATSettings struct {
	// PostgresApp and RedisApp name the apps serving CVAT's database and
	// job queues ("app" or "app/workload"); their Service and port come
	// from the model.
	PostgresApp string `json:"postgresApp"`
	RedisApp    string `json:"redisApp"`
	// PostgresSecret, RedisSecret and KvrocksSecret name Secrets of the
	// app: database, username and password; password; password.
	PostgresSecret string `json:"postgresSecret"`
	RedisSecret    string `json:"redisSecret"`
	KvrocksSecret  string `json:"kvrocksSecret"`
	// Hostname is the ingress host; IngressClass the IngressClass of the
	// cluster's ingress controller.
	Hostname     string `json:"hostname"`
	IngressClass string `json:"ingressClass,omitempty"`
	// StorageSize sizes the backend's shared data volume, and CacheSize
	// the kvrocks cache volume; the chart's sizes otherwise.
	StorageSize model.Quantity `json:"storageSize,omitempty"`
	CacheSize   model.Quantity `json:"cacheSize,omitempty"`
	// NuclioProjects are the Nuclio projects created in the app's
	// namespace for its functions.
	NuclioProjects []string `json:"nuclioProjects,omitempty"`
}

// cvatRedisPort is the only port the CVAT chart connects to Redis on: its
// CVAT_REDIS_INMEM_PORT is not a value.
const cvatRedisPort = 6379

// CVAT renders the "cvat" component: the CVAT chart with its Nuclio
// subchart (the dashboard and controller that deploy NuclioFunctions, so
// the app provides API group nuclio.io), using the PostgreSQL and Redis
// apps the settings name, the Secrets the settings name, the app's
// StorageClass, an ingress on the cluster's ingress controller, and an
// egress proxy (smokescreen) that lets CVAT reach the cluster's Services
// and the LAN, where S3 storage such as MinIO lives. Analytics (and the
// ClickHouse it stores in) and the chart's own Traefik are off. Each
// LoadBalancer of the model, such as the Nuclio dashboard's, is a Service
// of its own next to the chart's.
//
// A second unit, <app>-nuclio-projects, holds the Nuclio projects its
// functions belong to (see nuclioProjects).
func CVAT(m *model.Model, app *model.App, s CVATSettings) ([]Unit, error) {
	var problems model.Problems
	postgres, err := backingService(m, app.Path("settings", "postgresApp"), s.PostgresApp)
	problems.Add(nil, err)
	redis, err := backingService(m, app.Path("settings", "redisApp"), s.RedisApp)
	problems.Add(nil, err)
	if err == nil && redis.Port != cvatRedisPort {
		problems.Add(nil, model.Problemf(app.Path("settings", "redisApp"), "the CVAT chart connects to Redis on port %d only, and %s serves on %d; give it port %d",
			cvatRedisPort, redis.Ref, redis.Port, cvatRedisPort))
	}
	_, err = secretSetting(app, app.Path("settings", "postgresSecret"), s.PostgresSecret, "database", "username", "password")
	problems.Add(nil, err)
	_, err = secretSetting(app, app.Path("settings", "redisSecret"), s.RedisSecret, "password")
	problems.Add(nil, err)
	_, err = secretSetting(app, app.Path("settings", "kvrocksSecret"), s.KvrocksSecret, "password")
	problems.Add(nil, err)
	if len(problems) > 0 {
		return nil, problems
	}

	ingress := Values{"enabled": true, "hostname": s.Hostname}
	if s.IngressClass != "" {
		ingress["className"] = s.IngressClass
	}
	values := Values{
		"cvat": Values{
			"backend": Values{"defaultStorage": volumeValues(app, "storageClassName", s.StorageSize)},
			"kvrocks": Values{
				// The StatefulSet reads existingSecret, the backend secret.name.
				"existingSecret": s.KvrocksSecret,
				"secret":         Values{"create": false, "name": s.KvrocksSecret},
				"defaultStorage": volumeValues(app, "storageClassName", s.CacheSize),
			},
		},
		"postgresql": Values{
			"enabled":  false,
			"external": Values{"host": postgres.Host, "port": postgres.Port},
			"secret":   Values{"create": false, "name": s.PostgresSecret},
		},
		"redis": Values{
			"enabled":  false,
			"external": Values{"host": redis.Host},
			"secret":   Values{"create": false, "name": s.RedisSecret},
		},
		"nuclio":    Values{"enabled": true},
		"analytics": Values{"enabled": false},
		// The ClickHouse subchart is on by default (chart 2.56.1
		// values.yaml:436), and reads Secret cvat-analytics-secret, which
		// only analytics renders (templates/analytics/
		// cvat-analytics-secret.yml:1): it stores analytics only.
		"clickhouse":  Values{"enabled": false},
		"traefik":     Values{"enabled": false},
		"ingress":     ingress,
		"smokescreen": Values{"opts": smokescreenOpts(m)},
	}
	objects, err := chart(app, values)
	if err != nil {
		return nil, err
	}
	u := appUnit(app, append(withReleaseTimeout(objects, slowReleaseTimeout), workloadLoadBalancers(app)...)...)
	units := []Unit{u}
	if projects := nuclioProjects(app, s.NuclioProjects); projects != nil {
		units = append(units, *projects)
	}
	return units, nil
}

// smokescreenOpts lets CVAT's egress proxy, which refuses private
// addresses, reach the cluster's Services and the LAN: S3 storage such as
// MinIO is attached by its in-cluster name or its LoadBalancer IP.
func smokescreenOpts(m *model.Model) string {
	var opts []string
	for _, cidr := range []string{m.Network.Services.String(), m.Network.LAN.String()} {
		opts = append(opts, "--allow-range="+cidr)
	}
	return strings.Join(opts, " ")
}

// nuclioProjects is the unit of the Nuclio projects an app that installs
// Nuclio creates in its namespace, or nil when it creates none. Nuclio's
// controller looks a function's project up before it deploys the
// function, and puts a function whose project is missing in state error
// for good; only project "default" exists on its own. The projects are
// a unit of their own, after the app's (which installs Nuclio's CRDs)
// and before every function (which needs its project).
func nuclioProjects(app *model.App, names []string) *Unit {
	if len(names) == 0 {
		return nil
	}
	u := Unit{Name: app.Name + "-nuclio-projects", Layer: app.Layer, Origin: app.Path("settings", "nuclioProjects"),
		Owner: "the Nuclio projects of app " + app.Name, Rename: "rename the app"}
	for _, name := range names {
		u.Objects = append(u.Objects, &kube.NuclioProject{
			TypeMeta:   kube.TypeMeta(kube.NuclioGroupVersion, "NuclioProject"),
			ObjectMeta: kube.Meta(name, app.Namespace),
			Spec:       kube.NuclioProjectSpec{Description: "Nuclio functions of project " + name + ", created by " + app.Name},
		})
		u.Provides = append(u.Provides, NuclioProject(app.Namespace, name))
	}
	return &u
}
