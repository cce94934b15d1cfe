package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// WaitKustomizationsReady waits until the flux-system namespace has at least
// one Flux Kustomization and every one of them is Ready=True for its current
// generation. Kustomizations that appear while waiting (applied by another
// Kustomization) are waited for too. The timeout error lists each one that is
// not ready with its Ready reason and message.
func (c *Cluster) WaitKustomizationsReady(ctx context.Context, timeout time.Duration) error {
	return WaitFor(ctx, timeout, "every Kustomization in "+FluxNamespace+" to be Ready", func(ctx context.Context) (bool, string, error) {
		var list kustomizev1.KustomizationList
		if err := c.Client.List(ctx, &list, client.InNamespace(FluxNamespace)); err != nil {
			return false, "", err
		}
		if len(list.Items) == 0 {
			return false, "no Kustomization in " + FluxNamespace, nil
		}
		var pending []string
		for i := range list.Items {
			k := &list.Items[i]
			if !ready(k.Status.Conditions, k.Generation, k.Status.ObservedGeneration) {
				pending = append(pending, k.Name+": "+readySummary(k.Status.Conditions))
			}
		}
		sort.Strings(pending)
		return len(pending) == 0, "not ready: " + strings.Join(pending, "; "), nil
	})
}

// WaitKustomizationReady waits until one Kustomization is Ready=True for its
// current generation.
func (c *Cluster) WaitKustomizationReady(ctx context.Context, key client.ObjectKey, timeout time.Duration) error {
	return c.waitKustomization(ctx, key, timeout, "", "Kustomization "+key.String()+" to be Ready")
}

// WaitKustomizationRevision waits until a Kustomization is Ready=True with
// status.lastAppliedRevision equal to revision (as gitserver's
// Repo.Revision makes it: "main@sha1:<sha>").
func (c *Cluster) WaitKustomizationRevision(ctx context.Context, key client.ObjectKey, revision string, timeout time.Duration) error {
	return c.waitKustomization(ctx, key, timeout, revision, fmt.Sprintf("Kustomization %s to apply %s", key, revision))
}

func (c *Cluster) waitKustomization(ctx context.Context, key client.ObjectKey, timeout time.Duration, revision, what string) error {
	return WaitFor(ctx, timeout, what, func(ctx context.Context) (bool, string, error) {
		var k kustomizev1.Kustomization
		if err := c.Client.Get(ctx, key, &k); err != nil {
			return false, err.Error(), client.IgnoreNotFound(err)
		}
		note := fmt.Sprintf("lastAppliedRevision %q, %s", k.Status.LastAppliedRevision, readySummary(k.Status.Conditions))
		if revision != "" && k.Status.LastAppliedRevision != revision {
			return false, note, nil
		}
		return ready(k.Status.Conditions, k.Generation, k.Status.ObservedGeneration), note, nil
	})
}

// WaitGitRepositoryRevision waits until a GitRepository is Ready=True with
// an artifact of the given revision ("main@sha1:<sha>"); an empty revision
// accepts any.
func (c *Cluster) WaitGitRepositoryRevision(ctx context.Context, key client.ObjectKey, revision string, timeout time.Duration) error {
	return WaitFor(ctx, timeout, fmt.Sprintf("GitRepository %s to be Ready at %q", key, revision), func(ctx context.Context) (bool, string, error) {
		var g sourcev1.GitRepository
		if err := c.Client.Get(ctx, key, &g); err != nil {
			return false, err.Error(), client.IgnoreNotFound(err)
		}
		got := ""
		if g.Status.Artifact != nil {
			got = g.Status.Artifact.Revision
		}
		note := fmt.Sprintf("artifact %q, %s", got, readySummary(g.Status.Conditions))
		if got == "" || (revision != "" && got != revision) {
			return false, note, nil
		}
		return ready(g.Status.Conditions, g.Generation, g.Status.ObservedGeneration), note, nil
	})
}

// RequestReconcile asks Flux to reconcile obj now (a GitRepository after a
// push, say, rather than at its next interval), as flux reconcile does: it
// sets the reconcile.fluxcd.io/requestedAt annotation. obj needs its kind
// (a typed Flux object, or unstructured with apiVersion and kind), namespace
// and name.
func (c *Cluster) RequestReconcile(ctx context.Context, obj client.Object) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, meta.ReconcileRequestAnnotation, time.Now().Format(time.RFC3339Nano))
	if err := c.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return fmt.Errorf("requesting a reconcile of %s: %w", describe(obj), err)
	}
	return nil
}

// FluxReport describes every GitRepository and Kustomization in the cluster
// (revision and Ready condition), one per line; failed tests print it.
func (c *Cluster) FluxReport(ctx context.Context) string {
	var b strings.Builder
	var repos sourcev1.GitRepositoryList
	if err := c.Client.List(ctx, &repos); err != nil {
		fmt.Fprintf(&b, "listing GitRepositories: %v\n", err)
	}
	for _, g := range repos.Items {
		rev := ""
		if g.Status.Artifact != nil {
			rev = g.Status.Artifact.Revision
		}
		fmt.Fprintf(&b, "GitRepository %s/%s: artifact %q, %s\n", g.Namespace, g.Name, rev, readySummary(g.Status.Conditions))
	}
	var ks kustomizev1.KustomizationList
	if err := c.Client.List(ctx, &ks); err != nil {
		fmt.Fprintf(&b, "listing Kustomizations: %v\n", err)
	}
	for _, k := range ks.Items {
		fmt.Fprintf(&b, "Kustomization %s/%s: lastAppliedRevision %q, lastAttemptedRevision %q, %s\n",
			k.Namespace, k.Name, k.Status.LastAppliedRevision, k.Status.LastAttemptedRevision, readySummary(k.Status.Conditions))
	}
	if b.Len() == 0 {
		return "(no GitRepository, no Kustomization)"
	}
	return b.String()
}

// ready reports whether conditions say Ready=True for the object's current
// generation.
func ready(conds []metav1.Condition, generation, observed int64) bool {
	return observed == generation && apimeta.IsStatusConditionTrue(conds, meta.ReadyCondition)
}

// readySummary renders the Ready condition as "Ready=Status (Reason): Message".
func readySummary(conds []metav1.Condition) string {
	c := apimeta.FindStatusCondition(conds, meta.ReadyCondition)
	if c == nil {
		return "no Ready condition yet"
	}
	return fmt.Sprintf("Ready=%s (%s): %s", c.Status, c.Reason, c.Message)
}
