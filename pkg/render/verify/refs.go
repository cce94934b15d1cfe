package verify

import (
	"fmt"
	"slices"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// references checks what ties objects together: unique identities, Flux
// dependencies and sources, namespaces created before use, Services that
// select pods, and no Secret carrying a value.
func references(b *Built, pods []kube.PodLabels) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	seen := map[string]string{}
	byRef := map[string]Object{}
	namespaceUnit := map[string]string{}
	for _, o := range b.Objects {
		id := o.APIVersion + " " + o.Ref()
		if unit, dup := seen[id]; dup {
			fail("%s is rendered twice, by Kustomizations %s and %s", o.Ref(), unit, o.Unit)
		}
		seen[id] = o.Unit
		byRef[o.Kind+"/"+o.Namespace+"/"+o.Name] = o
		if o.Kind == "Namespace" {
			namespaceUnit[o.Name] = o.Unit
		}
	}

	deps := map[string][]string{}
	for _, ks := range b.Kustomizations {
		for _, d := range ks.Spec.DependsOn {
			deps[ks.Name] = append(deps[ks.Name], d.Name)
		}
	}
	for _, ks := range b.Kustomizations {
		for _, d := range ks.Spec.DependsOn {
			if _, ok := deps[d.Name]; !ok && !slices.ContainsFunc(b.Kustomizations, func(k *kustomizev1.Kustomization) bool { return k.Name == d.Name }) {
				fail("Kustomization %s depends on %s, which is not rendered", ks.Name, d.Name)
			}
		}
		src := ks.Spec.SourceRef
		ns := src.Namespace
		if ns == "" {
			ns = ks.Namespace
		}
		if _, ok := byRef[src.Kind+"/"+ns+"/"+src.Name]; !ok {
			fail("Kustomization %s pulls from %s %s/%s, which is not rendered", ks.Name, src.Kind, ns, src.Name)
		}
	}

	for _, o := range b.Objects {
		if o.Namespace != "" && !slices.Contains(model.SystemNamespaces, o.Namespace) {
			creator, ok := namespaceUnit[o.Namespace]
			switch {
			case !ok:
				fail("%s (Kustomization %s) is in namespace %s, which nothing creates", o.Ref(), o.Unit, o.Namespace)
			case creator != o.Unit && !reaches(deps, o.Unit, creator):
				fail("%s (Kustomization %s) is in namespace %s, created by Kustomization %s, which %s does not depend on", o.Ref(), o.Unit, o.Namespace, creator, o.Unit)
			}
		}
		switch typed := o.Typed.(type) {
		case *helmv2.HelmRelease:
			var kind, ns, name string
			if typed.Spec.ChartRef != nil {
				kind, ns, name = typed.Spec.ChartRef.Kind, typed.Spec.ChartRef.Namespace, typed.Spec.ChartRef.Name
			} else if typed.Spec.Chart != nil {
				ref := typed.Spec.Chart.Spec.SourceRef
				kind, ns, name = ref.Kind, ref.Namespace, ref.Name
			}
			if ns == "" {
				ns = o.Namespace
			}
			if _, ok := byRef[kind+"/"+ns+"/"+name]; !ok {
				fail("%s takes its chart from %s %s/%s, which is not rendered", o.Ref(), kind, ns, name)
			}
		case *corev1.Service:
			if sel := typed.Spec.Selector; len(sel) > 0 && !selectsAny(sel, podLabels(b, pods, o.Namespace)) {
				fail("%s selects pods labelled %v, and no workload in namespace %s has those labels", o.Ref(), sel, o.Namespace)
			}
		case *corev1.Secret:
			if len(typed.Data) > 0 || len(typed.StringData) > 0 {
				fail("%s carries data in the clear; commit Secrets SOPS-encrypted in the secrets folder, never rendered", o.Ref())
			}
		}
	}
	return errs
}

// reaches reports whether from depends on to, directly or through others.
func reaches(deps map[string][]string, from, to string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(n string) bool {
		if n == to {
			return true
		}
		if seen[n] {
			return false
		}
		seen[n] = true
		return slices.ContainsFunc(deps[n], walk)
	}
	return walk(from)
}

// podLabels gathers the label sets of pods in a namespace: those of
// rendered pod templates and those the units say are created at run time.
func podLabels(b *Built, pods []kube.PodLabels, namespace string) []map[string]string {
	var out []map[string]string
	for _, p := range pods {
		if p.Namespace == namespace {
			out = append(out, p.Labels)
		}
	}
	for _, o := range b.Objects {
		if o.Namespace != namespace {
			continue
		}
		switch typed := o.Typed.(type) {
		case *appsv1.Deployment:
			out = append(out, typed.Spec.Template.Labels)
		case *appsv1.StatefulSet:
			out = append(out, typed.Spec.Template.Labels)
		case *appsv1.DaemonSet:
			out = append(out, typed.Spec.Template.Labels)
		}
	}
	return out
}

func selectsAny(selector map[string]string, pods []map[string]string) bool {
	return slices.ContainsFunc(pods, func(labels map[string]string) bool {
		for k, v := range selector {
			if labels[k] != v {
				return false
			}
		}
		return true
	})
}
