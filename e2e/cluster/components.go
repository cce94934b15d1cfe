package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Bounds on how long each part of the cluster may take to become ready.
const (
	etcdReadyTimeout       = 30 * time.Second
	apiServerReadyTimeout  = 90 * time.Second
	controllerReadyTimeout = 60 * time.Second
)

// Names of the cluster's processes, as Log takes them.
const (
	Etcd                = "etcd"
	KubeAPIServer       = "kube-apiserver"
	SourceController    = "source-controller"
	KustomizeController = "kustomize-controller"
)

// startEtcd starts a single-member etcd on loopback and waits for /health.
func (c *Cluster) startEtcd(ctx context.Context, bin string, clientPort, peerPort int) (string, error) {
	clientURL := "http://" + loopback(clientPort)
	peerURL := "http://" + loopback(peerPort)
	p, err := c.start(Etcd, bin, []string{
		"--name=e2e",
		"--data-dir=" + filepath.Join(c.Dir, "etcd-data"),
		"--listen-client-urls=" + clientURL,
		"--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=e2e=" + peerURL,
		"--unsafe-no-fsync", // a throwaway store: durability buys nothing
	}, nil)
	if err != nil {
		return "", err
	}
	health := clientURL + "/health"
	err = waitFor(ctx, etcdReadyTimeout, "etcd to answer "+health, []*process{p}, func(ctx context.Context) (bool, string, error) {
		body, err := get(ctx, http.DefaultClient, health, "")
		if err != nil {
			return false, err.Error(), nil
		}
		return strings.Contains(body, `"health":"true"`), body, nil
	})
	return clientURL, err
}

// startAPIServer starts kube-apiserver on loopback against etcd and waits
// until /readyz answers ok.
func (c *Cluster) startAPIServer(ctx context.Context, bin, etcdURL string, port int, cred credentials) (string, error) {
	p, err := c.start(KubeAPIServer, bin, []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir=" + filepath.Join(c.Dir, "apiserver-certs"),
		"--authorization-mode=AlwaysAllow",
		"--token-auth-file=" + cred.tokenFile,
		"--service-account-key-file=" + cred.saPubFile,
		"--service-account-signing-key-file=" + cred.saKeyFile,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range=10.43.0.0/16",
		// The endpoints of the kubernetes Service would be 127.0.0.1, which
		// Endpoints validation refuses; nothing here needs them.
		"--endpoint-reconciler-type=none",
	}, nil)
	if err != nil {
		return "", err
	}
	server := "https://" + loopback(port)
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	err = waitFor(ctx, apiServerReadyTimeout, "kube-apiserver to answer "+server+"/readyz", []*process{p}, func(ctx context.Context) (bool, string, error) {
		body, err := get(ctx, insecure, server+"/readyz", cred.token)
		if err != nil {
			return false, err.Error(), nil
		}
		return strings.TrimSpace(body) == "ok", body, nil
	})
	return server, err
}

// controllerPorts are the loopback ports of the two Flux controllers.
type controllerPorts struct {
	storage, sourceMetrics, sourceHealth, kustomizeMetrics, kustomizeHealth int
}

// startControllers starts Flux's source-controller and kustomize-controller
// out of cluster, talking to the API server through the kubeconfig, and waits
// until both report ready.
func (c *Cluster) startControllers(ctx context.Context, sourceBin, kustomizeBin string, ports controllerPorts) error {
	env := []string{
		"KUBECONFIG=" + c.Kubeconfig,
		"RUNTIME_NAMESPACE=" + FluxNamespace,
	}
	storage := filepath.Join(c.Dir, "source-storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return err
	}
	src, err := c.start(SourceController, sourceBin, []string{
		"--storage-path=" + storage,
		"--storage-addr=" + loopback(ports.storage),
		"--storage-adv-addr=" + loopback(ports.storage),
		"--metrics-addr=" + loopback(ports.sourceMetrics),
		"--health-addr=" + loopback(ports.sourceHealth),
		"--enable-leader-election=false",
		"--watch-all-namespaces=true",
	}, env)
	if err != nil {
		return err
	}
	kus, err := c.start(KustomizeController, kustomizeBin, []string{
		"--metrics-addr=" + loopback(ports.kustomizeMetrics),
		"--health-addr=" + loopback(ports.kustomizeHealth),
		"--enable-leader-election=false",
		"--watch-all-namespaces=true",
		// A unit waiting on another retries every 30s by default; a test
		// with a few levels of dependsOn would spend minutes waiting.
		"--requeue-dependency=2s",
	}, env)
	if err != nil {
		return err
	}
	for _, w := range []struct {
		p    *process
		port int
	}{{src, ports.sourceHealth}, {kus, ports.kustomizeHealth}} {
		url := "http://" + loopback(w.port) + "/readyz"
		err := waitFor(ctx, controllerReadyTimeout, w.p.name+" to answer "+url, []*process{src, kus}, func(ctx context.Context) (bool, string, error) {
			_, err := get(ctx, http.DefaultClient, url, "")
			if err != nil {
				return false, err.Error(), nil
			}
			return true, "", nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// start starts one of the cluster's processes, logging to <Dir>/<name>.log,
// and records it so that Cleanup stops it.
func (c *Cluster) start(name, bin string, args, env []string) (*process, error) {
	p, err := startProcess(name, filepath.Join(c.Dir, name+".log"), bin, args, env)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p, nil
}

// get fetches url (with a bearer token if given) and returns the body of a
// 200 answer; any other status is an error carrying the body.
func get(ctx context.Context, hc *http.Client, url, token string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}
