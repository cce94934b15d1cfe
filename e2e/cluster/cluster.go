// Package cluster runs a real Kubernetes control plane with Flux on loopback,
// for end-to-end tests of what Flux does with a GitOps tree.
//
// Start launches etcd and kube-apiserver (built from the Go module proxy by
// package tools), installs the CRDs of package crds, and runs Flux's
// source-controller and kustomize-controller out of cluster against it. There
// is no kubelet and no container runtime: Pods never run, so tests assert on
// what Flux applies, prunes and reports, not on workloads. Likewise no
// controller-manager runs: a deleted Namespace stays Terminating and owner
// references are not garbage-collected.
//
// Setup helpers (Start) fail the test on error; methods that talk to the
// cluster (Apply, List, the waits) return errors, so a test can also expect
// them to fail.
package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/polylab/polylab-gitops/e2e/crds"
	"github.com/polylab/polylab-gitops/e2e/tools"
)

// FluxNamespace is the namespace Flux's own objects live in; Start creates it.
const FluxNamespace = "flux-system"

// prepareTimeout bounds Prepare: a cold build of all the tools takes about
// fifteen minutes on two cores.
const prepareTimeout = 45 * time.Minute

// logTailLines is how many lines of each log a failed test prints.
const logTailLines = 40

// Cluster is a running control plane with Flux's controllers. It is stopped
// by the test's cleanup.
type Cluster struct {
	// Kubeconfig is the path of a kubeconfig file for the cluster (admin
	// token, TLS verification skipped), for kubectl or any client.
	Kubeconfig string
	// RESTConfig is the same connection for client-go.
	RESTConfig *rest.Config
	// Client is a controller-runtime client whose scheme (NewScheme) knows the
	// core Kubernetes types, apiextensions and Flux's source, kustomize and
	// helm types; unstructured objects work for every other kind.
	Client client.Client
	// Dir is the cluster's scratch folder: data, certificates and the
	// <process>.log files. It is removed when the test ends.
	Dir string

	t     testing.TB
	mu    sync.Mutex
	procs []*process
}

// prepared is what Prepare made, kept for the life of the test binary.
var prepared struct {
	mu   sync.Mutex
	done bool
	bins tools.Bins
	crds []*apiextensionsv1.CustomResourceDefinition
}

// Prepare builds any missing tool binary and gathers the CRDs, writing
// progress to log. Start calls it, but a TestMain should call it first, so
// that a cold build (minutes) happens outside any test's timeout. It does the
// work once per process; later calls return at once.
func Prepare(ctx context.Context, log io.Writer) error {
	_, _, err := prepare(ctx, log)
	return err
}

func prepare(ctx context.Context, log io.Writer) (tools.Bins, []*apiextensionsv1.CustomResourceDefinition, error) {
	prepared.mu.Lock()
	defer prepared.mu.Unlock()
	if prepared.done {
		return prepared.bins, prepared.crds, nil
	}
	ctx, cancel := context.WithTimeout(ctx, prepareTimeout)
	defer cancel()
	bins, err := tools.EnsureAll(ctx, log)
	if err != nil {
		return tools.Bins{}, nil, err
	}
	all, err := crds.Load(ctx, bins.ControllerGen)
	if err != nil {
		return tools.Bins{}, nil, err
	}
	prepared.bins, prepared.crds, prepared.done = bins, all, true
	return bins, all, nil
}

// Start starts etcd, kube-apiserver and Flux's source-controller and
// kustomize-controller on free loopback ports, installs the CRDs (waiting
// until they are established) and creates the flux-system namespace. Every
// process is stopped when the test ends, pass or fail; on failure the tails
// of their logs and the state of Flux's objects are printed first. Start
// fails the test if any step fails or takes too long.
func Start(t testing.TB) *Cluster {
	t.Helper()
	c, err := start(t)
	if err != nil {
		t.Fatalf("cluster: %v", err)
	}
	return c
}

func start(t testing.TB) (*Cluster, error) {
	began := time.Now()
	bins, allCRDs, err := prepare(context.Background(), os.Stderr)
	if err != nil {
		return nil, err
	}
	c := &Cluster{t: t, Dir: t.TempDir()}
	t.Cleanup(c.cleanup) // registered before any process starts
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")

	ctx := context.Background()
	ports, err := freePorts(8)
	if err != nil {
		return nil, err
	}
	phases := newPhaseTimer()
	etcdURL, err := c.startEtcd(ctx, bins.Etcd, ports[0], ports[1])
	if err != nil {
		return nil, err
	}
	phases.done("etcd")
	cred, err := newCredentials(c.Dir)
	if err != nil {
		return nil, err
	}
	server, err := c.startAPIServer(ctx, bins.KubeAPIServer, etcdURL, ports[2], cred)
	if err != nil {
		return nil, err
	}
	phases.done("kube-apiserver")
	if err := writeKubeconfig(c.Kubeconfig, server, cred.token); err != nil {
		return nil, err
	}
	if c.RESTConfig, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig); err != nil {
		return nil, err
	}
	// client-go's default of 5 requests per second would throttle the waits.
	c.RESTConfig.QPS, c.RESTConfig.Burst = 200, 400
	if c.Client, err = newClient(c.RESTConfig); err != nil {
		return nil, err
	}
	if err := c.installCRDs(ctx, allCRDs); err != nil {
		return nil, err
	}
	if err := c.createNamespace(ctx, FluxNamespace); err != nil {
		return nil, err
	}
	phases.done(fmt.Sprintf("%d CRDs", len(allCRDs)))
	err = c.startControllers(ctx, bins.SourceController, bins.KustomizeController, controllerPorts{
		storage: ports[3], sourceMetrics: ports[4], sourceHealth: ports[5],
		kustomizeMetrics: ports[6], kustomizeHealth: ports[7],
	})
	if err != nil {
		return nil, err
	}
	phases.done("controllers")
	t.Logf("cluster: started in %s (%s); API server %s", time.Since(began).Round(time.Millisecond), phases, server)
	return c, nil
}

// cleanup stops every process, controllers first. If the test failed, it
// first reports Flux's objects and the tails of the logs, as they were at
// the failure (before shutdown adds its own lines).
func (c *Cluster) cleanup() {
	if c.t.Failed() {
		if c.Client != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			c.t.Logf("cluster: Flux objects at failure:\n%s", c.FluxReport(ctx))
			cancel()
		}
		c.t.Logf("cluster: logs (last %d lines each; the folder is removed after the test):\n%s", logTailLines, c.Logs())
	}
	c.mu.Lock()
	procs := c.procs
	c.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
	}
}

// Logs returns the last lines of every process's log, each under a header.
func (c *Cluster) Logs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, p := range c.procs {
		fmt.Fprintf(&b, "----- %s (%s) -----\n%s\n", p.name, p.logPath, p.tail(logTailLines))
	}
	return b.String()
}

// Log returns the whole log of one process: Etcd, KubeAPIServer,
// SourceController or KustomizeController.
func (c *Cluster) Log(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if p.name == name {
			return p.log()
		}
	}
	return fmt.Sprintf("(no process %q)", name)
}

// phaseTimer records how long each step of Start took, for its log line.
type phaseTimer struct {
	last  time.Time
	parts []string
}

func newPhaseTimer() *phaseTimer { return &phaseTimer{last: time.Now()} }

func (p *phaseTimer) done(name string) {
	now := time.Now()
	p.parts = append(p.parts, fmt.Sprintf("%s %s", name, now.Sub(p.last).Round(10*time.Millisecond)))
	p.last = now
}

func (p *phaseTimer) String() string { return strings.Join(p.parts, ", ") }
