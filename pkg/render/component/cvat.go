package component

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() { register("cvat", CVAT) }

// The settings of a "cvat" app.
const (
	// cvatPostgresApp and cvatRedisApp name the apps serving CVAT's
	// database and job queues ("app" or "app/workload"); their Service and
	// port come from the model.
	cvatPostgresApp = "postgresApp"
	cvatRedisApp    = "redisApp"
	// cvatPostgresSecret, cvatRedisSecret and cvatKvrocksSecret name Secrets
	// of the app: database, username and password; password; password.
	cvatPostgresSecret = "postgresSecret"
	cvatRedisSecret    = "redisSecret"
	cvatKvrocksSecret  = "kvrocksSecret"
	// cvatHostname is the ingress host; cvatIngressClass the IngressClass
	// of the cluster's ingress controller.
	cvatHostname     = "hostname"
	cvatIngressClass = "ingressClass"
	// cvatStorageSize sizes the backend's shared data volume, and
	// cvatCacheSize the kvrocks cache volume; the chart's sizes otherwise.
	cvatStorageSize = "storageSize"
	cvatCacheSize   = "cacheSize"
)

// slowChartTimeout bounds Flux's wait for a unit whose chart installs
// slowly (large images, database migrations): longer than the
// HelmRelease's own timeout, so that Flux reports the release's failure,
// not its own impatience.
const slowChartTimeout = "15m"

// cvatRedisPort is the only port the CVAT chart connects to Redis on: its
// CVAT_REDIS_INMEM_PORT is not a value.
const cvatRedisPort = 6379

// CVAT renders the "cvat" component: the CVAT chart with its Nuclio
// subchart (the dashboard and controller that deploy NuclioFunctions, so
// the app provides API group nuclio.io), using the PostgreSQL and Redis
// apps the settings name, the Secrets the settings name, the app's
// StorageClass, an ingress on the cluster's ingress controller, and an
// egress proxy (smokescreen) that lets CVAT reach the cluster's Services
// and the LAN, where S3 storage such as MinIO lives. Analytics and the
// chart's own Traefik are off. Each LoadBalancer of the model, such as the
// Nuclio dashboard's, is a Service of its own next to the chart's.
func CVAT(c *model.Cluster, app model.App) ([]Unit, error) {
	if err := knownSettings(app, cvatPostgresApp, cvatPostgresSecret, cvatRedisApp, cvatRedisSecret, cvatKvrocksSecret,
		cvatHostname, cvatIngressClass, cvatStorageSize, cvatCacheSize); err != nil {
		return nil, err
	}
	postgres, err := backingService(c, app, cvatPostgresApp)
	if err != nil {
		return nil, err
	}
	redis, err := backingService(c, app, cvatRedisApp)
	if err != nil {
		return nil, err
	}
	if redis.Port != cvatRedisPort {
		return nil, fmt.Errorf("settings.%s: the CVAT chart connects to Redis on port %d only, and %s serves on %d; give it port %d",
			cvatRedisApp, cvatRedisPort, redis.Ref, redis.Port, cvatRedisPort)
	}
	postgresSecret, err := secretSetting(app, cvatPostgresSecret, "database", "username", "password")
	if err != nil {
		return nil, err
	}
	redisSecret, err := secretSetting(app, cvatRedisSecret, "password")
	if err != nil {
		return nil, err
	}
	kvrocksSecret, err := secretSetting(app, cvatKvrocksSecret, "password")
	if err != nil {
		return nil, err
	}
	hostname := setting(app, cvatHostname, "")
	if hostname == "" {
		return nil, fmt.Errorf("the cvat component serves CVAT through the cluster's ingress; set settings.%s to the host name browsers use", cvatHostname)
	}

	backendStorage := volumeValues(app, "storageClassName", cvatStorageSize)
	kvrocksStorage := volumeValues(app, "storageClassName", cvatCacheSize)
	ingress := Values{"enabled": true, "hostname": hostname}
	if class := setting(app, cvatIngressClass, ""); class != "" {
		ingress["className"] = class
	}

	values := Values{
		"cvat": Values{
			"backend": Values{"defaultStorage": backendStorage},
			"kvrocks": Values{
				// The StatefulSet reads existingSecret, the backend secret.name.
				"existingSecret": kvrocksSecret,
				"secret":         Values{"create": false, "name": kvrocksSecret},
				"defaultStorage": kvrocksStorage,
			},
		},
		"postgresql": Values{
			"enabled":  false,
			"external": Values{"host": postgres.Host, "port": postgres.Port},
			"secret":   Values{"create": false, "name": postgresSecret},
		},
		"redis": Values{
			"enabled":  false,
			"external": Values{"host": redis.Host},
			"secret":   Values{"create": false, "name": redisSecret},
		},
		"nuclio":      Values{"enabled": true},
		"analytics":   Values{"enabled": false},
		"traefik":     Values{"enabled": false},
		"ingress":     ingress,
		"smokescreen": Values{"opts": smokescreenOpts(c)},
	}
	objects, err := chart(app, values)
	if err != nil {
		return nil, err
	}
	for _, w := range app.Workloads {
		objects = append(objects, loadBalancerServices(app, w)...)
	}
	u := appUnit(app, objects...)
	u.Timeout = slowChartTimeout
	return []Unit{u}, nil
}

// smokescreenOpts lets CVAT's egress proxy, which refuses private
// addresses, reach the cluster's Services and the LAN: S3 storage such as
// MinIO is attached by its in-cluster name or its LoadBalancer IP.
func smokescreenOpts(c *model.Cluster) string {
	var opts []string
	for _, cidr := range []string{c.Network.Services, c.Network.LAN} {
		if cidr != "" {
			opts = append(opts, "--allow-range="+cidr)
		}
	}
	return strings.Join(opts, " ")
}

// Helpers shared by the app components (cvat, clearml, minio, nuclio-function).

// knownSettings refuses settings the component does not read: a misspelt
// one would otherwise be ignored without a word.
func knownSettings(app model.App, known ...string) error {
	for _, k := range slices.Sorted(maps.Keys(app.Settings)) {
		if !slices.Contains(known, k) {
			if len(known) == 0 {
				return fmt.Errorf("settings.%s: the %s component reads no settings", k, app.Component)
			}
			return fmt.Errorf("settings.%s is not a setting of the %s component; it reads %s", k, app.Component, strings.Join(known, ", "))
		}
	}
	return nil
}

// endpoint is where a backing app, such as a database, is reached in the
// cluster: its Service's DNS name and port.
type endpoint struct {
	Ref  string // the app (and workload) as the setting names it
	Host string
	Port int
}

// backingService resolves the app a setting names ("app", or
// "app/workload" as flows write it) to the in-cluster Service that
// reaches it: the Service's DNS name and its only port.
func backingService(c *model.Cluster, app model.App, key string) (endpoint, error) {
	ref := setting(app, key, "")
	if ref == "" {
		return endpoint{}, fmt.Errorf("the %s component needs settings.%s: the app (or app/workload) that serves it", app.Component, key)
	}
	ep, err := c.Resolve(ref)
	if err != nil {
		return endpoint{}, fmt.Errorf("settings.%s: %w", key, err)
	}
	if ep.External != nil {
		return endpoint{}, fmt.Errorf("settings.%s: %s is an external source, not an app", key, ref)
	}
	target, w := *ep.App, *ep.Workload
	if target.Component != "container" {
		return endpoint{}, fmt.Errorf("settings.%s names %s, a %s app; the renderer knows the Service of container apps only", key, ref, target.Component)
	}
	if len(w.Ports) != 1 {
		return endpoint{}, fmt.Errorf("settings.%s names %s, which serves %s; it needs exactly one port", key, ep, w.PortNames())
	}
	// ContainerApp names the Service after the app.
	host := target.Name + "." + target.Namespace + ".svc"
	if c.Domain != "" {
		host += "." + c.Domain
	}
	return endpoint{Ref: ep.String(), Host: host, Port: w.Ports[0].Port}, nil
}

// secretSetting reads the name of one of the app's Secrets from a
// setting, and checks that the model says it holds the keys a chart reads.
func secretSetting(app model.App, key string, keys ...string) (string, error) {
	name := setting(app, key, "")
	if name == "" {
		return "", fmt.Errorf("the %s component needs settings.%s: the Secret holding %s", app.Component, key, strings.Join(keys, ", "))
	}
	i := slices.IndexFunc(app.Secrets, func(s model.SecretRef) bool { return s.Name == name })
	if i < 0 {
		return "", fmt.Errorf("settings.%s names Secret %s, which is not among the app's secrets; declare it there with keys %s", key, name, strings.Join(keys, ", "))
	}
	if missing := missingKeys(app.Secrets[i], keys); len(missing) > 0 {
		return "", fmt.Errorf("settings.%s names Secret %s, whose keys lack %s", key, name, strings.Join(missing, ", "))
	}
	return name, nil
}

// secretHolding finds the only Secret of the app that holds all the keys.
func secretHolding(app model.App, keys ...string) (string, error) {
	var found []string
	for _, s := range app.Secrets {
		if len(missingKeys(s, keys)) == 0 {
			found = append(found, s.Name)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("the %s component reads a Secret with keys %s; declare it in the app's secrets", app.Component, strings.Join(keys, ", "))
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("the %s component reads one Secret with keys %s, and the app declares %s; keep one", app.Component, strings.Join(keys, ", "), strings.Join(found, ", "))
}

func missingKeys(s model.SecretRef, keys []string) []string {
	var missing []string
	for _, k := range keys {
		if !slices.Contains(s.Keys, k) {
			missing = append(missing, k)
		}
	}
	return missing
}

// chartService is the values of a chart's own Service for one port of a
// workload: the port as the model declares it and, when the model puts
// a LoadBalancer on that Service, type LoadBalancer pinned to its IP.
// Charts whose Service is one for both uses cannot expose another port
// outside than inside, so the LoadBalancer must keep the workload's port.
func chartService(app model.App, w model.Workload, p model.Port, lb *model.LoadBalancer, fallbackType string) (Values, error) {
	svc := Values{"port": p.Port}
	if fallbackType != "" {
		svc["type"] = fallbackType
	}
	if lb == nil {
		return svc, nil
	}
	if len(lb.Ports) != 1 || lb.Ports[0].Name != p.Name {
		return nil, fmt.Errorf("%s/%s: the LoadBalancer on %s is the %s chart's Service for port %s, and exposes only that port; list it alone",
			app.Name, w.Name, lb.IP, app.Component, p.Name)
	}
	if err := sameServicePorts(app, w, *lb); err != nil {
		return nil, err
	}
	svc["type"] = "LoadBalancer"
	annotations := Values{}
	for k, v := range loadBalancerAnnotations(*lb) {
		annotations[k] = v
	}
	svc["annotations"] = annotations
	return svc, nil
}

// volumeValues are a chart's values for a volume: the app's StorageClass
// under classKey and the size the setting sizeKey gives under "size",
// each left to the chart when the model does not say.
func volumeValues(app model.App, classKey, sizeKey string) Values {
	v := Values{}
	if app.StorageClass != "" {
		v[classKey] = app.StorageClass
	}
	if size := setting(app, sizeKey, ""); size != "" {
		v["size"] = size
	}
	return v
}

// findPort returns the workload's port with the given name.
func findPort(app model.App, w model.Workload, name string) (model.Port, error) {
	i := slices.IndexFunc(w.Ports, func(p model.Port) bool { return p.Name == name })
	if i < 0 {
		return model.Port{}, fmt.Errorf("the %s component needs a port named %q on %s/%s; it has %s", app.Component, name, app.Name, w.Name, w.PortNames())
	}
	return w.Ports[i], nil
}

// selectsPods checks that a workload's selector names only labels that
// its pods carry (as whoever creates them, a chart or Nuclio, labels
// them), so the model's flows and Services reach them.
func selectsPods(app model.App, w model.Workload, creator string, podLabels map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(w.Selector)) {
		if got, ok := podLabels[k]; !ok || got != w.Selector[k] {
			return fmt.Errorf("%s/%s selects %s=%s, and %s labels these pods %s; select those labels",
				app.Name, w.Name, k, w.Selector[k], creator, labelString(podLabels))
		}
	}
	return nil
}

func labelString(labels map[string]string) string {
	var s []string
	for k, v := range labels {
		s = append(s, k+"="+v)
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}
