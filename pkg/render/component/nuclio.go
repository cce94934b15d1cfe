package component

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() { register("nuclio-function", NuclioFunctionApp) }

// NuclioDeployState is the status.state that asks Nuclio's controller to
// deploy a function: nuctl and the dashboard create functions in it, and
// the controller ignores a function whose state is empty.
const NuclioDeployState = "waitingForResourceConfiguration"

// Labels Nuclio reads and writes.
const (
	// NuclioProjectLabel puts a function in a project; CVAT lists the
	// functions of its project only.
	NuclioProjectLabel = "nuclio.io/project-name"
	// NuclioFunctionNameLabel is on every pod of a function, with its name.
	NuclioFunctionNameLabel = "nuclio.io/function-name"
)

// nuclioFunctionsResource is the resource of NuclioFunctions, for RBAC
// rules and kubectl.
const nuclioFunctionsResource = "nucliofunctions"

// The HTTP trigger every function gets, as CVAT's own function.yaml files
// declare it: one worker, and bodies up to 32 MiB (images to annotate).
const (
	nuclioHTTPTrigger        = "http"
	nuclioHTTPWorkers        = 1
	nuclioMaxRequestBodySize = 32 << 20
)

// nuclioDeployerUser runs kubectl as a user with no rights on the node:
// the distroless "nonroot" user.
const nuclioDeployerUser = 65532

// NuclioFunctionApp renders the "nuclio-function" component: a
// NuclioFunction that runs a prebuilt image (Nuclio builds nothing), in
// the app's project, with CVAT's annotations, on the GPU nodes when its
// workload needs GPUs (their shared labels, their taints tolerated, the
// GPUs as a limit), and the Job that asks Nuclio to deploy it.
//
// The deploy path. Nuclio's controller deploys a NuclioFunction only when
// its status.state is NuclioDeployState (or a state of a function already
// deployed); nuctl and the dashboard create functions in that state.
// Flux strips status from what it applies, so a function applied by Flux
// has none and the controller skips it forever. So the unit also holds:
//
//  1. a ServiceAccount <fn>-deployer, and a Role and RoleBinding granting
//     it get and patch on this one NuclioFunction (resourceNames), nothing else;
//  2. a Job <fn>-deploy-<hash> running the app's deployerImage (kubectl):
//     kubectl patch nucliofunctions.nuclio.io <fn> --namespace <ns>
//     --type=merge --patch {"status":{"state":"waitingForResourceConfiguration"}}.
//     Nuclio's CRD has no status subresource, so the patch writes status
//     with the object, and the controller then deploys the function (a
//     Deployment and Service nuclio-<fn>) and sets the state to ready.
//     Flux applies by server-side apply and never owned status, so its
//     later applies leave the state alone.
//
// The hash is the first 8 hex digits of the SHA-256 of the function's
// labels, annotations and spec and of the Job's pod template. A change to
// the function renders a Job of another name: Flux prunes the old Job,
// creates the new one, which patches the state again, and Nuclio
// redeploys the function with its new spec. An unchanged function renders
// the same Job, which has completed, so nothing runs again. The Job keeps
// no ttlSecondsAfterFinished: were it deleted after it finished, Flux
// would create it again at its next reconciliation and redeploy the
// function each time. Its pod template being in the hash also keeps Flux
// from ever changing an existing Job's template, which Kubernetes
// refuses. The Job restarts on failure (the function or the RoleBinding
// not yet there) up to six times; to redeploy an unchanged function, say
// after a failed deployment, delete the Job and Flux runs it again.
//
// Flux waits for the Job to complete before it reports the unit ready.
func NuclioFunctionApp(c *model.Cluster, app model.App) ([]Unit, error) {
	if app.Function == nil {
		return nil, fmt.Errorf("the nuclio-function component needs a function block")
	}
	if err := knownSettings(app); err != nil {
		return nil, err
	}
	w, err := soleWorkload(app)
	if err != nil {
		return nil, err
	}
	fn, err := nuclioFunction(c, app, w)
	if err != nil {
		return nil, err
	}
	deployer, err := nuclioDeployer(app, fn)
	if err != nil {
		return nil, err
	}
	return []Unit{appUnit(app, append([]kube.Object{fn}, deployer...)...)}, nil
}

// nuclioFunction is the NuclioFunction of the app.
func nuclioFunction(c *model.Cluster, app model.App, w model.Workload) (*kube.NuclioFunction, error) {
	f := app.Function
	if w.Placement.GPUs > 0 && len(c.GPUNodes()) == 0 {
		return nil, fmt.Errorf("%s/%s needs %d GPU(s), and no built node of the cluster has one; add the GPUs to a node, or drop the placement",
			app.Name, w.Name, w.Placement.GPUs)
	}
	fn := &kube.NuclioFunction{
		TypeMeta:   kube.TypeMeta(kube.NuclioGroupVersion, "NuclioFunction"),
		ObjectMeta: kube.Meta(app.Name, app.Namespace),
		Spec: kube.NuclioFunctionSpec{
			Description:  app.Description,
			Runtime:      f.Runtime,
			Handler:      f.Handler,
			Image:        f.Image,
			MinReplicas:  ptr.To(f.MinReplicas),
			MaxReplicas:  ptr.To(f.MaxReplicas),
			EventTimeout: f.EventTimeout,
			Triggers: map[string]kube.NuclioTrigger{nuclioHTTPTrigger: {
				Kind:       "http",
				NumWorkers: nuclioHTTPWorkers,
				Attributes: map[string]any{"maxRequestBodySize": nuclioMaxRequestBodySize},
			}},
		},
	}
	fn.Labels = map[string]string{NuclioProjectLabel: f.Project}
	if len(f.Annotations) > 0 {
		fn.Annotations = maps.Clone(f.Annotations)
	}

	// Placed as a container app's pod would be: GPU pods onto the GPU
	// nodes, tolerating their taints, with the GPUs as a limit.
	pod := corev1.PodSpec{Containers: []corev1.Container{{}}}
	place(c, &pod, w.Placement)
	fn.Spec.NodeSelector = pod.NodeSelector
	fn.Spec.Tolerations = pod.Tolerations
	fn.Spec.Resources = pod.Containers[0].Resources

	// Nuclio labels the function's pods with the function's labels and name.
	podLabels := maps.Clone(fn.Labels)
	podLabels[NuclioFunctionNameLabel] = fn.Name
	if err := selectsPods(app, w, "Nuclio", podLabels); err != nil {
		return nil, err
	}
	return fn, nil
}

// NuclioDeployerLabels are the labels of the deploy Job's pods (which
// talk to the Kubernetes API and nothing else).
func NuclioDeployerLabels(app model.App) map[string]string {
	return map[string]string{"app.kubernetes.io/name": app.Name, "app.kubernetes.io/component": "deployer"}
}

// nuclioDeployer renders the ServiceAccount, Role, RoleBinding and Job
// that set the function's state to NuclioDeployState (see NuclioFunctionApp).
func nuclioDeployer(app model.App, fn *kube.NuclioFunction) ([]kube.Object, error) {
	if app.Function.DeployerImage == "" {
		return nil, fmt.Errorf("the nuclio-function component needs function.deployerImage, a kubectl image, to ask Nuclio to deploy the function")
	}
	name := boundedName(fn.Name, "-deployer")
	labels := NuclioDeployerLabels(app)
	account := &corev1.ServiceAccount{
		TypeMeta:   kube.TypeMeta(corev1.SchemeGroupVersion, "ServiceAccount"),
		ObjectMeta: kube.Meta(name, fn.Namespace),
	}
	role := &rbacv1.Role{
		TypeMeta:   kube.TypeMeta(rbacv1.SchemeGroupVersion, "Role"),
		ObjectMeta: kube.Meta(name, fn.Namespace),
		Rules: []rbacv1.PolicyRule{{
			APIGroups:     []string{kube.NuclioGroupVersion.Group},
			Resources:     []string{nuclioFunctionsResource},
			ResourceNames: []string{fn.Name},
			Verbs:         []string{"get", "patch"},
		}},
	}
	binding := &rbacv1.RoleBinding{
		TypeMeta:   kube.TypeMeta(rbacv1.SchemeGroupVersion, "RoleBinding"),
		ObjectMeta: kube.Meta(name, fn.Namespace),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: account.Name, Namespace: fn.Namespace}},
	}
	for _, o := range []kube.Object{account, role, binding} {
		o.SetLabels(maps.Clone(labels))
	}

	patch, err := json.Marshal(map[string]any{"status": map[string]any{"state": NuclioDeployState}})
	if err != nil {
		return nil, err
	}
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(labels)},
		Spec: corev1.PodSpec{
			ServiceAccountName: account.Name,
			RestartPolicy:      corev1.RestartPolicyOnFailure,
			Containers: []corev1.Container{{
				Name:  "deploy",
				Image: app.Function.DeployerImage,
				Args: []string{
					"patch", nuclioFunctionsResource + "." + kube.NuclioGroupVersion.Group, fn.Name,
					"--namespace", fn.Namespace, "--type=merge", "--patch", string(patch),
				},
				// kubectl caches discovery under $HOME; the image has no home.
				Env: []corev1.EnvVar{{Name: "HOME", Value: "/tmp"}},
				SecurityContext: &corev1.SecurityContext{
					RunAsNonRoot:             ptr.To(true),
					RunAsUser:                ptr.To[int64](nuclioDeployerUser),
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
			}},
		},
	}
	hash, err := nuclioDeployHash(fn, template)
	if err != nil {
		return nil, err
	}
	job := &batchv1.Job{
		TypeMeta:   kube.TypeMeta(batchv1.SchemeGroupVersion, "Job"),
		ObjectMeta: kube.Meta(boundedName(fn.Name, "-deploy-"+hash), fn.Namespace),
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](6),
			Template:     template,
		},
	}
	job.Labels = maps.Clone(labels)
	return []kube.Object{account, role, binding, job}, nil
}

// nuclioDeployHash is the first 8 hex digits of the SHA-256 of what a
// deploy Job deploys (the function's labels, annotations and spec) and of
// how (its pod template).
func nuclioDeployHash(fn *kube.NuclioFunction, template corev1.PodTemplateSpec) (string, error) {
	b, err := json.Marshal(struct {
		Labels      map[string]string       `json:"labels"`
		Annotations map[string]string       `json:"annotations"`
		Spec        kube.NuclioFunctionSpec `json:"spec"`
		Deployer    corev1.PodTemplateSpec  `json:"deployer"`
	}{fn.Labels, fn.Annotations, fn.Spec, template})
	if err != nil {
		return "", fmt.Errorf("hashing NuclioFunction %s: %w", fn.Name, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:8], nil
}

// boundedName appends a suffix to a name, shortening the name so that the
// whole stays a valid object name and label value (63 characters).
func boundedName(name, suffix string) string {
	if over := len(name) + len(suffix) - validation.DNS1123LabelMaxLength; over > 0 {
		name = strings.TrimRight(name[:max(len(name)-over, 0)], "-")
	}
	return name + suffix
}
