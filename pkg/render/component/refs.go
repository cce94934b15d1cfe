package component

import (
	"maps"
	"slices"
	"strings"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// What the chart-based components (cvat, clearml, minio, ...) share: the
// apps and Secrets their settings name, and the values of a chart's
// Services and volumes.

// endpoint is where a backing app, such as a database, is reached in the
// cluster: its Service's DNS name and port.
type endpoint struct {
	Ref  string // the app (and workload) as the setting names it
	Host string
	Port int
}

// backingService resolves the app a setting at path names ("app", or
// "app/workload" as flows write it) to the in-cluster Service that
// reaches it: the Service's DNS name and its only port.
func backingService(m *model.Model, at model.Path, ref string) (endpoint, error) {
	ep, err := m.Resolve(ref)
	switch {
	case err != nil:
		return endpoint{}, model.Problemf(at, "%v", err)
	case ep.External != nil:
		return endpoint{}, model.Problemf(at, "%s is an external source, not an app", ref)
	case ep.App.Component != "container":
		return endpoint{}, model.Problemf(at, "names %s, a %s app; the renderer knows the Service of container apps only", ref, ep.App.Component)
	case len(ep.Workload.Ports) != 1:
		return endpoint{}, model.Problemf(at, "names %s, which serves %s; it needs exactly one port", ep, ep.Workload.PortNames())
	}
	// ContainerApp names the Service after the app.
	host := ep.App.Name + "." + ep.App.Namespace + ".svc"
	if m.Domain != "" {
		host += "." + m.Domain
	}
	return endpoint{Ref: ep.String(), Host: host, Port: ep.Workload.Ports[0].Port}, nil
}

// secretSetting checks that the Secret a setting at path names is one of
// the app's, declared with the keys a chart reads, and returns its index
// among the app's secrets.
func secretSetting(app *model.App, at model.Path, name string, keys ...string) (int, error) {
	i, ok := app.Secret(name)
	if !ok {
		return -1, model.Problemf(at, "names Secret %s, which is not among the app's secrets%s; declare it there with keys %s",
			name, model.DidYouMean(name, app.SecretNames()), strings.Join(keys, ", "))
	}
	if missing := missingKeys(app.Secrets[i], keys); len(missing) > 0 {
		return -1, model.Problemf(app.Path("secrets", i, "keys"), "Secret %s lacks the keys %s, which the %s chart reads from it", name, strings.Join(missing, ", "), app.Component)
	}
	return i, nil
}

// secretHolding finds the only Secret of the app that holds all the keys.
func secretHolding(app *model.App, keys ...string) (string, error) {
	var found []string
	for _, s := range app.Secrets {
		if len(missingKeys(s, keys)) == 0 {
			found = append(found, s.Name)
		}
	}
	switch len(found) {
	case 0:
		return "", model.Problemf(app.Path("secrets"), "the %s component reads a Secret with keys %s; declare it in the app's secrets", app.Component, strings.Join(keys, ", "))
	case 1:
		return found[0], nil
	}
	return "", model.Problemf(app.Path("secrets"), "the %s component reads one Secret with keys %s, and the app declares %s; keep one", app.Component, strings.Join(keys, ", "), strings.Join(found, ", "))
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
func chartService(s model.PodSet, p model.Port, lb *model.LoadBalancer, fallbackType string) (Values, error) {
	svc := Values{"port": p.Port}
	if fallbackType != "" {
		svc["type"] = fallbackType
	}
	if lb == nil {
		return svc, nil
	}
	if len(lb.Ports) != 1 || lb.Ports[0].Name != p.Name {
		return nil, model.Problemf(s.Path("loadBalancers", indexOf(s.Workload.LoadBalancers, lb), "ports"), "%s: the LoadBalancer on %s is the %s chart's Service for port %s, and exposes only that port; list it alone",
			s.Key(), lb.IP, s.App.Component, p.Name)
	}
	if err := sameServicePorts(s, lb); err != nil {
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
// under classKey and size under "size", each left to the chart when the
// model does not say.
func volumeValues(app *model.App, classKey string, size model.Quantity) Values {
	v := Values{}
	if app.StorageClass != "" {
		v[classKey] = app.StorageClass
	}
	if size != "" {
		v["size"] = size
	}
	return v
}

// findPort returns the workload's port with the given name.
func findPort(s model.PodSet, name string) (model.Port, error) {
	p, _, ok := s.Workload.PortNamed(name)
	if !ok {
		return model.Port{}, model.Problemf(s.Path("ports"), "the %s component needs a port named %q on %s; it has %s", s.App.Component, name, s.Key(), s.Workload.PortNames())
	}
	return p, nil
}

// selectsPods checks that a workload's selector names only labels that
// its pods carry (as whoever creates them, a chart or Nuclio, labels
// them), so the model's flows and Services reach them.
func selectsPods(s model.PodSet, creator string, podLabels map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(s.Workload.Selector)) {
		if got, ok := podLabels[k]; !ok || got != s.Workload.Selector[k] {
			return model.Problemf(s.Path("selector"), "%s selects %s=%s, and %s labels these pods %s; select those labels",
				s.Key(), k, s.Workload.Selector[k], creator, labelString(podLabels))
		}
	}
	return nil
}

// labelString sorts the key=value pairs, not the keys as
// model.LabelString does: the two differ when one key is another's
// prefix (app, app.kubernetes.io/name), and the messages keep their order.
func labelString(labels map[string]string) string {
	var s []string
	for k, v := range labels {
		s = append(s, k+"="+v)
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}
