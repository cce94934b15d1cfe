package charts

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/polylab/polylab-gitops/pkg/render/model"
	"github.com/polylab/polylab-gitops/pkg/render/verify"
)

// pod is a pod template of the cluster: one a chart renders, or one of the
// tree's own objects.
type pod struct {
	// Kind, Namespace and Name are the object holding the template.
	Kind, Namespace, Name string
	// Labels are the labels its pods carry: the template's, and for a
	// Job those the Job controller adds.
	Labels      map[string]string
	HostNetwork bool
	Spec        corev1.PodSpec
	// From says where it comes from: "chart cvat 2.56.1", "subchart
	// clickhouse 4.1.16 of chart cvat 2.56.1", or "Kustomization minio".
	From string
	// Unit is the Flux Kustomization that applies it, or, for a chart's,
	// the HelmRelease that renders it.
	Unit string
	// Release is the chart release rendering it; nil for the tree's own.
	Release *Rendered
	// Hook is set for a chart's hook (a Job run at install or upgrade).
	Hook *Hook
}

// String names the pod's object as messages do: Deployment cvat/cvat-frontend.
func (p *pod) String() string { return p.Kind + " " + p.Namespace + "/" + p.Name }

// Describe names it with where it comes from.
func (p *pod) Describe() string { return p.String() + " (" + p.From + ")" }

// Job controller labels on a Job's pods (Kubernetes 1.27 and later also
// the batch.kubernetes.io/ prefixed one): the Job's name.
var jobNameLabels = []string{"batch.kubernetes.io/job-name", "job-name"}

// podOf returns the pod template of a workload object, or nil.
func podOf(kind string, typed any) (*corev1.PodTemplateSpec, bool) {
	switch o := typed.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template, true
	case *appsv1.StatefulSet:
		return &o.Spec.Template, true
	case *appsv1.DaemonSet:
		return &o.Spec.Template, true
	case *appsv1.ReplicaSet:
		return &o.Spec.Template, true
	case *batchv1.Job:
		return &o.Spec.Template, true
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template, true
	case *corev1.Pod:
		return &corev1.PodTemplateSpec{ObjectMeta: o.ObjectMeta, Spec: o.Spec}, true
	}
	return nil, false
}

// typedWorkload decodes a workload object of a chart into its Go type; nil
// for any other kind.
func typedWorkload(o Object) (any, error) {
	var typed any
	switch o.GroupVersionKind().GroupKind().String() {
	case "Deployment.apps":
		typed = &appsv1.Deployment{}
	case "StatefulSet.apps":
		typed = &appsv1.StatefulSet{}
	case "DaemonSet.apps":
		typed = &appsv1.DaemonSet{}
	case "ReplicaSet.apps":
		typed = &appsv1.ReplicaSet{}
	case "Job.batch":
		typed = &batchv1.Job{}
	case "CronJob.batch":
		typed = &batchv1.CronJob{}
	case "Pod":
		typed = &corev1.Pod{}
	default:
		return nil, nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, typed); err != nil {
		return nil, fmt.Errorf("%s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
	}
	return typed, nil
}

func newPod(kind, namespace, name string, tpl *corev1.PodTemplateSpec) *pod {
	p := &pod{Kind: kind, Namespace: namespace, Name: name, Labels: maps.Clone(tpl.Labels), HostNetwork: tpl.Spec.HostNetwork, Spec: tpl.Spec}
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	if kind == "Job" {
		for _, l := range jobNameLabels {
			p.Labels[l] = name
		}
	}
	return p
}

// chartPods are the pod templates every release renders, hooks included.
func chartPods(rendered []*Rendered) ([]*pod, error) {
	var out []*pod
	for _, r := range rendered {
		for _, o := range r.Objects {
			typed, err := typedWorkload(o)
			if err != nil {
				return nil, err
			}
			tpl, ok := podOf(o.GetKind(), typed)
			if !ok {
				continue
			}
			p := newPod(o.GetKind(), o.GetNamespace(), o.GetName(), tpl)
			p.From, p.Unit, p.Release, p.Hook = r.origin(o.Template), r.Unit, r, o.Hook
			out = append(out, p)
		}
	}
	return out, nil
}

// treePods are the pod templates of the tree's own objects.
func treePods(objects []verify.Object) []*pod {
	var out []*pod
	for _, o := range objects {
		tpl, ok := podOf(o.Kind, o.Typed)
		if !ok {
			continue
		}
		p := newPod(o.Kind, o.Namespace, o.Name, tpl)
		p.From, p.Unit = "Kustomization "+o.Unit, o.Unit
		out = append(out, p)
	}
	return out
}

// origin names the chart, or the subchart of it, a template belongs to.
func (r *Rendered) origin(template string) string {
	if sub := r.subchartOf(template); sub != nil {
		on := ""
		if sub.Condition != "" {
			on = ", on by " + sub.Condition
		}
		return fmt.Sprintf("subchart %s %s of %s%s", sub.Path, sub.Version, r.ChartName(), on)
	}
	return r.ChartName()
}

// subchartOf finds the subchart whose template a file is:
// "<chart>/charts/a/charts/b/templates/x.yaml" is subchart a.b's.
func (r *Rendered) subchartOf(template string) *Subchart {
	parts := strings.Split(template, "/")
	var path []string
	for i := 1; i+1 < len(parts); i++ {
		if parts[i] == "charts" {
			path = append(path, parts[i+1])
			i++
			continue
		}
		break
	}
	if len(path) == 0 {
		return nil
	}
	p := strings.Join(path, ".")
	// Helm names a subchart's files by its alias when it has one
	// (ChartFullPath), which is its values path.
	for _, s := range r.Subcharts {
		if s.Path == p {
			return &s
		}
	}
	return &Subchart{Path: p, Name: path[len(path)-1]}
}

// matches reports whether labels carry every label of the selector.
func matches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// listen is a port a pod listens on and how the template says so.
type listen struct {
	Port     int
	Protocol corev1.Protocol
	Name     string
	How      string // "containerPort", "httpGet probe", ...
}

// listens lists the ports a pod's containers declare: their ports, and
// their probes' ports (a probe on a port means the container serves it).
func (p *pod) listens() []listen {
	var out []listen
	add := func(l listen) {
		if l.Protocol == "" {
			l.Protocol = corev1.ProtocolTCP
		}
		for i, o := range out {
			if o.Port == l.Port && o.Protocol == l.Protocol {
				if !strings.Contains(o.How, l.How) {
					out[i].How += ", " + l.How
				}
				if out[i].Name == "" {
					out[i].Name = l.Name
				}
				return
			}
		}
		out = append(out, l)
	}
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			add(listen{Port: int(cp.ContainerPort), Protocol: cp.Protocol, Name: cp.Name, How: "containerPort"})
		}
		for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if probe == nil {
				continue
			}
			var port *intstr.IntOrString
			how := ""
			switch {
			case probe.HTTPGet != nil:
				port, how = &probe.HTTPGet.Port, "httpGet probe"
			case probe.TCPSocket != nil:
				port, how = &probe.TCPSocket.Port, "tcpSocket probe"
			case probe.GRPC != nil:
				port, how = &intstr.IntOrString{IntVal: probe.GRPC.Port}, "grpc probe"
			default:
				continue
			}
			if n, ok := containerPort(c, *port); ok {
				add(listen{Port: n, How: how})
			}
		}
	}
	return out
}

// containerPort resolves a port by number or by a name of the container's ports.
func containerPort(c corev1.Container, port intstr.IntOrString) (int, bool) {
	if port.Type == intstr.Int {
		return int(port.IntVal), port.IntVal > 0
	}
	for _, cp := range c.Ports {
		if cp.Name == port.StrVal {
			return int(cp.ContainerPort), true
		}
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil {
		return n, true
	}
	return 0, false
}

// namedPort resolves a Service's named targetPort on a pod: the number of
// the container port of that name.
func (p *pod) namedPort(name string) (int, bool) {
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == name {
				return int(cp.ContainerPort), true
			}
		}
	}
	return 0, false
}

func listenString(ls []listen) string {
	var s []string
	for _, l := range ls {
		s = append(s, fmt.Sprintf("%d/%s (%s)", l.Port, l.Protocol, l.How))
	}
	return strings.Join(s, ", ")
}

// helmLabels are labels every chart sets, which say nothing about which
// pods they are: left out of messages.
var helmLabels = []string{"app.kubernetes.io/managed-by", "app.kubernetes.io/version", "helm.sh/chart"}

// labelString is model.LabelString without helmLabels.
func labelString(labels map[string]string) string {
	shown := maps.Clone(labels)
	maps.DeleteFunc(shown, func(k, _ string) bool { return slices.Contains(helmLabels, k) })
	return model.LabelString(shown)
}
