package verify

import (
	"bytes"
	"encoding/json"
	"fmt"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
)

// types maps every kind the renderer may write to a constructor of its Go
// type. A kind missing here is an error: nothing leaves unchecked.
var types = map[string]func() any{}

func register(apiVersion, kind string, f func() any) { types[apiVersion+"/"+kind] = f }

func init() {
	core := corev1.SchemeGroupVersion.String()
	register(core, "Namespace", func() any { return &corev1.Namespace{} })
	register(core, "Service", func() any { return &corev1.Service{} })
	register(core, "ServiceAccount", func() any { return &corev1.ServiceAccount{} })
	register(core, "ConfigMap", func() any { return &corev1.ConfigMap{} })
	register(core, "Secret", func() any { return &corev1.Secret{} })
	register(core, "PersistentVolumeClaim", func() any { return &corev1.PersistentVolumeClaim{} })
	apps := appsv1.SchemeGroupVersion.String()
	register(apps, "Deployment", func() any { return &appsv1.Deployment{} })
	register(apps, "StatefulSet", func() any { return &appsv1.StatefulSet{} })
	register(apps, "DaemonSet", func() any { return &appsv1.DaemonSet{} })
	register(batchv1.SchemeGroupVersion.String(), "Job", func() any { return &batchv1.Job{} })
	rbac := rbacv1.SchemeGroupVersion.String()
	register(rbac, "ClusterRole", func() any { return &rbacv1.ClusterRole{} })
	register(rbac, "ClusterRoleBinding", func() any { return &rbacv1.ClusterRoleBinding{} })
	register(rbac, "Role", func() any { return &rbacv1.Role{} })
	register(rbac, "RoleBinding", func() any { return &rbacv1.RoleBinding{} })
	register(networkingv1.SchemeGroupVersion.String(), "NetworkPolicy", func() any { return &networkingv1.NetworkPolicy{} })

	register(kustomizev1.GroupVersion.String(), kustomizev1.KustomizationKind, func() any { return &kustomizev1.Kustomization{} })
	source := sourcev1.GroupVersion.String()
	register(source, sourcev1.GitRepositoryKind, func() any { return &sourcev1.GitRepository{} })
	register(source, sourcev1.HelmRepositoryKind, func() any { return &sourcev1.HelmRepository{} })
	register(source, sourcev1.OCIRepositoryKind, func() any { return &sourcev1.OCIRepository{} })
	register(helmv2.GroupVersion.String(), helmv2.HelmReleaseKind, func() any { return &helmv2.HelmRelease{} })

	metallb := kube.MetalLBGroupVersion.String()
	register(metallb, "IPAddressPool", func() any { return &kube.IPAddressPool{} })
	register(metallb, "L2Advertisement", func() any { return &kube.L2Advertisement{} })
	register(kube.K3sHelmGroupVersion.String(), "HelmChartConfig", func() any { return &kube.HelmChartConfig{} })
	register(kube.K3sHelmGroupVersion.String(), "HelmChart", func() any { return &kube.HelmChart{} })
	register(kube.FluxOperatorGroupVersion.String(), "FluxInstance", func() any { return &kube.FluxInstance{} })
	register(kube.NuclioGroupVersion.String(), "NuclioFunction", func() any { return &kube.NuclioFunction{} })
	register(kube.NuclioGroupVersion.String(), "NuclioProject", func() any { return &kube.NuclioProject{} })
}

// decodeStrict decodes an object's fields into the kind's Go type through
// JSON, as the API server does, refusing any field the type does not know.
func decodeStrict(apiVersion, kind string, fields map[string]any) (any, error) {
	newObject, ok := types[apiVersion+"/"+kind]
	if !ok {
		return nil, fmt.Errorf("no Go type is registered for %s %s; add it to pkg/render/verify so it can be checked", apiVersion, kind)
	}
	obj := newObject()
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return nil, fmt.Errorf("does not decode strictly into %T: %w", obj, err)
	}
	return obj, nil
}
