package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// crdEstablishedTimeout bounds the wait for the installed CRDs to be served.
const crdEstablishedTimeout = 60 * time.Second

// NewScheme returns a scheme with the core Kubernetes types, apiextensions
// (CRDs) and Flux's source (v1), kustomize (v1) and helm (v2) types.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(sourcev1.AddToScheme(s))
	utilruntime.Must(kustomizev1.AddToScheme(s))
	utilruntime.Must(helmv2.AddToScheme(s))
	return s
}

var quietLogger sync.Once

// newClient returns a controller-runtime client with NewScheme. It silences
// controller-runtime's logger (which otherwise complains, with a stack trace,
// that none was set) unless the test binary already set one.
func newClient(cfg *rest.Config) (client.Client, error) {
	quietLogger.Do(func() { ctrllog.SetLogger(logr.Discard()) })
	return client.New(cfg, client.Options{Scheme: NewScheme()})
}

// installCRDs creates the CRDs and waits until every one is established.
func (c *Cluster) installCRDs(ctx context.Context, all []*apiextensionsv1.CustomResourceDefinition) error {
	for _, crd := range all {
		if err := c.Client.Create(ctx, crd.DeepCopy()); err != nil {
			return fmt.Errorf("creating CRD %s: %w", crd.Name, err)
		}
	}
	names := make([]string, len(all))
	for i, crd := range all {
		names[i] = crd.Name
	}
	return c.waitCRDsEstablished(ctx, names)
}

// waitCRDsEstablished waits until the named CRDs are established.
func (c *Cluster) waitCRDsEstablished(ctx context.Context, names []string) error {
	return WaitFor(ctx, crdEstablishedTimeout, fmt.Sprintf("%d CRD(s) to be established", len(names)), func(ctx context.Context) (bool, string, error) {
		var list apiextensionsv1.CustomResourceDefinitionList
		if err := c.Client.List(ctx, &list); err != nil {
			return false, "", err
		}
		established := map[string]bool{}
		for i := range list.Items {
			established[list.Items[i].Name] = crdEstablished(&list.Items[i])
		}
		var pending []string
		for _, name := range names {
			if !established[name] {
				pending = append(pending, name)
			}
		}
		sort.Strings(pending)
		return len(pending) == 0, "not established: " + strings.Join(pending, ", "), nil
	})
}

func crdEstablished(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, cond := range crd.Status.Conditions {
		if cond.Type == apiextensionsv1.Established {
			return cond.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

// createNamespace creates a namespace; one that exists already is fine.
func (c *Cluster) createNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}
