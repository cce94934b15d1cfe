package component

import (
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() {
	register(Definition[struct{}]{Name: "container", Block: "container", Places: true, Render: ContainerApp})
}

// ContainerApp renders the generic "container" component: a Deployment,
// or a StatefulSet when the app keeps data on volumes, its ClusterIP
// Service, and its LoadBalancer Services.
func ContainerApp(m *model.Model, app *model.App, _ struct{}) ([]Unit, error) {
	s, err := soleWorkload(app)
	if err != nil {
		return nil, model.Problemf(app.Path("workloads"), "container app %s runs one workload, not %d", app.Name, len(app.Workloads))
	}
	w := s.Workload
	for i, p := range w.Ports {
		if p.IsRange() {
			return nil, model.Problemf(s.Path("ports", i, "endPort"), "%s: the container component renders a Service of every port, and a Service cannot map the range %s of port %s; declare single ports", s.Key(), p.PodPorts(), p.Name)
		}
	}
	spec := app.Container
	res, err := resources(app.Path("container", "resources"), spec.Resources)
	if err != nil {
		return nil, err
	}
	pod := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(w.Selector)},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:      app.Name,
				Image:     spec.Image,
				Command:   spec.Command,
				Args:      spec.Args,
				Env:       env(spec),
				EnvFrom:   envFrom(spec),
				Ports:     containerPorts(w),
				Resources: res,
			}},
		},
	}
	place(m, &pod.Spec, w.Placement)

	var claims []corev1.PersistentVolumeClaim
	for i, v := range spec.Volumes {
		pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts,
			corev1.VolumeMount{Name: v.Name, MountPath: v.MountPath})
		switch {
		case v.Size != "":
			claim, err := volumeClaim(app, app.Path("container", "volumes", i, "size"), v)
			if err != nil {
				return nil, err
			}
			claims = append(claims, claim)
		case v.ConfigMap != "":
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: v.ConfigMap}}}})
		case v.Secret != "":
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{
				Secret: &corev1.SecretVolumeSource{SecretName: v.Secret}}})
		}
	}

	selector := &metav1.LabelSelector{MatchLabels: maps.Clone(w.Selector)}
	var workloadObject kube.Object
	if len(claims) > 0 {
		workloadObject = &appsv1.StatefulSet{
			TypeMeta:   kube.TypeMeta(appsv1.SchemeGroupVersion, "StatefulSet"),
			ObjectMeta: kube.Meta(app.Name, app.Namespace),
			Spec: appsv1.StatefulSetSpec{
				Replicas:             ptr.To(spec.Replicas),
				ServiceName:          app.Name,
				Selector:             selector,
				Template:             pod,
				VolumeClaimTemplates: claims,
			},
		}
	} else {
		workloadObject = &appsv1.Deployment{
			TypeMeta:   kube.TypeMeta(appsv1.SchemeGroupVersion, "Deployment"),
			ObjectMeta: kube.Meta(app.Name, app.Namespace),
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To(spec.Replicas),
				Selector: selector,
				Template: pod,
			},
		}
	}
	objects := []kube.Object{workloadObject}
	if len(w.Ports) > 0 {
		objects = append(objects, clusterIPService(app.Name, app.Namespace, w))
	}
	objects = append(objects, loadBalancerServices(s, w.LoadBalancers)...)
	return []Unit{appUnit(app, objects...)}, nil
}

func env(spec *model.Container) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
		out = append(out, corev1.EnvVar{Name: k, Value: spec.Env[k]})
	}
	for _, k := range slices.Sorted(maps.Keys(spec.EnvSecrets)) {
		ref := spec.EnvSecrets[k]
		out = append(out, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: ref.Secret}, Key: ref.Key},
		}})
	}
	return out
}

func envFrom(spec *model.Container) []corev1.EnvFromSource {
	var out []corev1.EnvFromSource
	for _, s := range spec.EnvFrom {
		if s.ConfigMap != "" {
			out = append(out, corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: s.ConfigMap}}})
		} else {
			out = append(out, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: s.Secret}}})
		}
	}
	return out
}

func containerPorts(w *model.Workload) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for _, p := range w.Ports {
		out = append(out, corev1.ContainerPort{Name: p.Name, ContainerPort: int32(p.TargetPort), Protocol: corev1.Protocol(p.Protocol)})
	}
	return out
}

// resources are a container's requests and limits, parsed as Kubernetes
// parses quantities.
func resources(at model.Path, r *model.Resources) (corev1.ResourceRequirements, error) {
	var out corev1.ResourceRequirements
	if r == nil {
		return out, nil
	}
	var problems model.Problems
	list := func(kind string, m map[string]string) corev1.ResourceList {
		if len(m) == 0 {
			return nil
		}
		l := corev1.ResourceList{}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			q, err := quantity(at.With(kind, k), m[k])
			if err != nil {
				problems.Add(nil, err)
				continue
			}
			l[corev1.ResourceName(k)] = q
		}
		return l
	}
	out.Requests, out.Limits = list("requests", r.Requests), list("limits", r.Limits)
	return out, problems.Err()
}

// quantity parses a Kubernetes quantity written at path, as the API server
// will.
func quantity(at model.Path, s string) (resource.Quantity, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return q, model.Problemf(at, "%v", model.CheckQuantity(s))
	}
	return q, nil
}

func volumeClaim(app *model.App, at model.Path, v model.Volume) (corev1.PersistentVolumeClaim, error) {
	size, err := quantity(at, v.Size)
	if err != nil {
		return corev1.PersistentVolumeClaim{}, err
	}
	pvc := corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: v.Name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: size},
			},
		},
	}
	if app.StorageClass != "" {
		pvc.Spec.StorageClassName = ptr.To(app.StorageClass)
	}
	return pvc, nil
}
