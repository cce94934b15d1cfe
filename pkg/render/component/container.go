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

// ContainerApp renders the generic "container" component: a Deployment,
// or a StatefulSet when the app keeps data on volumes, its ClusterIP
// Service, and its LoadBalancer Services.
func ContainerApp(c *model.Cluster, app model.App) ([]Unit, error) {
	w := app.Workloads[0] // the model's validation guarantees exactly one
	spec := app.Container
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
				Resources: resources(spec.Resources),
			}},
		},
	}
	place(c, &pod.Spec, w.Placement)

	var claims []corev1.PersistentVolumeClaim
	for _, v := range spec.Volumes {
		pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts,
			corev1.VolumeMount{Name: v.Name, MountPath: v.MountPath})
		switch {
		case v.Size != "":
			claims = append(claims, volumeClaim(app, v))
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
	objects = append(objects, loadBalancerServices(app, w)...)
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

func containerPorts(w model.Workload) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for _, p := range w.Ports {
		out = append(out, corev1.ContainerPort{Name: p.Name, ContainerPort: int32(p.TargetPort), Protocol: corev1.Protocol(p.Protocol)})
	}
	return out
}

func resources(r *model.Resources) corev1.ResourceRequirements {
	var out corev1.ResourceRequirements
	if r == nil {
		return out
	}
	list := func(m map[string]string) corev1.ResourceList {
		if len(m) == 0 {
			return nil
		}
		l := corev1.ResourceList{}
		for k, v := range m {
			l[corev1.ResourceName(k)] = resource.MustParse(v)
		}
		return l
	}
	out.Requests, out.Limits = list(r.Requests), list(r.Limits)
	return out
}

func volumeClaim(app model.App, v model.Volume) corev1.PersistentVolumeClaim {
	pvc := corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: v.Name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(v.Size)},
			},
		},
	}
	if app.StorageClass != "" {
		pvc.Spec.StorageClassName = ptr.To(app.StorageClass)
	}
	return pvc
}
