package component

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/kustomize"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

func init() {
	register(Definition[struct{}]{Name: "nuclio-function", Block: "function", Pods: nuclioPods, Places: true, Render: NuclioFunctionApp})
}

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
func NuclioFunctionApp(m *model.Model, app *model.App, _ struct{}) ([]Unit, error) {
	w, err := soleWorkload(app)
	if err != nil {
		return nil, err
	}
	fn, err := nuclioFunction(m, app, w)
	if err != nil {
		return nil, err
	}
	deployer, err := nuclioDeployer(app, fn)
	if err != nil {
		return nil, err
	}
	u := appUnit(app, append([]kube.Object{fn}, deployer...)...)
	// The function's project must exist before Nuclio deploys it.
	u.Needs = append(u.Needs, Need{NuclioProject(app.Namespace, app.Function.Project), app.Path("function", "project")})
	// Flux reports the unit healthy once Nuclio says the function is
	// ready, and failed when Nuclio gives up (see NuclioHealth).
	u.Health = []kube.Object{fn}
	u.HealthExprs = []kustomize.CustomHealthCheck{NuclioHealth}
	u.Timeout = nuclioDeployTimeout
	// Nuclio creates the function's pods, labelled as the function.
	u.Pods = []kube.PodLabels{{Namespace: app.Namespace, Labels: nuclioPodLabels(fn)}}
	return []Unit{u}, nil
}

// nuclioDeployTimeout bounds Flux's wait for a function to become ready:
// Nuclio pulls its image (a GPU image with its model weights weighs
// gigabytes) and starts it before it says ready.
const nuclioDeployTimeout = 30 * time.Minute

// NuclioHealth is how Flux reads a NuclioFunction's health: its status
// has no conditions (kstatus would call it ready in every state), but
// Nuclio's controller writes status.state: ready once the function
// serves, and error or unhealthy when a deployment failed.
//
// kustomize-controller v1.9 (fluxcd/pkg runtime/cel, checked at the
// versions kustomize-controller v1.9.6 pins) tries inProgress, failed,
// then current, and calls an object that matches none in progress; an
// object with no status yet (before the deploy Job patched it) makes the
// expressions fail to evaluate, which reads as unknown, so Flux keeps
// waiting. A failed function stops the wait at once (fail-fast), and the
// Kustomization's Ready message names it; Nuclio's own message stays in
// the function's status.message (kubectl get nucliofunction -o yaml).
var NuclioHealth = kustomize.CustomHealthCheck{
	APIVersion: kube.NuclioGroupVersion.String(),
	Kind:       "NuclioFunction",
	HealthCheckExpressions: kustomize.HealthCheckExpressions{
		Current: "status.state == 'ready'",
		Failed:  "status.state in ['error', 'unhealthy']",
	},
}

// nuclioPods are the pods the component creates: the Job that asks Nuclio
// to deploy the function talks to the Kubernetes API.
func nuclioPods(app *model.App) []Pod {
	return []Pod{{What: "the Job that deploys the function", Labels: NuclioDeployerLabels(app), APIServer: true}}
}

// nuclioFunction is the NuclioFunction of the app.
func nuclioFunction(m *model.Model, app *model.App, s model.PodSet) (*kube.NuclioFunction, error) {
	f := app.Function
	w := s.Workload
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
			EventTimeout: f.EventTimeout.String(),
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
	if len(f.Labels) > 0 {
		// One text, read by CVAT from the annotation and by the handler
		// from the environment, so the two never disagree.
		spec := CVATLabelSpec(f.Labels)
		if fn.Annotations == nil {
			fn.Annotations = map[string]string{}
		}
		fn.Annotations[CVATLabelSpecAnnotation] = spec
		fn.Spec.Env = []corev1.EnvVar{{Name: NuclioLabelsEnv, Value: spec}}
	}
	if f.ImagePullSecret != "" {
		if _, err := registryLogin(app, app.Path("function", "imagePullSecret"), f.ImagePullSecret); err != nil {
			return nil, err
		}
		fn.Spec.ImagePullSecrets = f.ImagePullSecret
	}

	// Placed as a container app's pod would be: GPU pods onto the GPU
	// nodes, tolerating their taints, with the GPUs as a limit.
	pod := corev1.PodSpec{Containers: []corev1.Container{{}}}
	place(m, &pod, w.Placement)
	fn.Spec.NodeSelector = pod.NodeSelector
	fn.Spec.Tolerations = pod.Tolerations
	fn.Spec.Resources = pod.Containers[0].Resources

	if err := selectsPods(s, "Nuclio", nuclioPodLabels(fn)); err != nil {
		return nil, err
	}
	return fn, nil
}

// What CVAT and the function read of a function's labels.
const (
	// CVATLabelSpecAnnotation is the annotation CVAT reads a function's
	// labels from (cvat/apps/lambda_manager/views.py, LambdaFunction:
	// json.loads of metadata.annotations.spec).
	CVATLabelSpecAnnotation = "spec"
	// NuclioLabelsEnv is the environment variable the function's handler
	// reads the same labels from (functions/*/README.md, "The LABELS
	// contract").
	NuclioLabelsEnv = "LABELS"
	// cvatLabelType is the shape of every label: the detectors return
	// rectangles.
	cvatLabelType = "rectangle"
)

// CVATLabelSpec is the JSON list of labels CVAT reads from a function,
// one label a line so that a pull request shows a changed label as a
// changed line: [{"id": 0, "name": "person", "type": "rectangle"}, ...],
// ids in the model's order.
func CVATLabelSpec(labels []string) string {
	var b strings.Builder
	b.WriteString("[\n")
	for i, l := range labels {
		name, _ := json.Marshal(l) // a string always encodes
		fmt.Fprintf(&b, "  {\"id\": %d, \"name\": %s, \"type\": %q}", i, name, cvatLabelType)
		if i < len(labels)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("]")
	return b.String()
}

// registryLogin checks that the Secret a setting at path names is one of
// the app's, a registry login (type kubernetes.io/dockerconfigjson):
// kubelet reads no other for an image pull.
func registryLogin(app *model.App, at model.Path, name string) (string, error) {
	i, err := secretSetting(app, at, name, model.SecretDockerConfigKey)
	if err != nil {
		return "", err
	}
	if t := app.Secrets[i].Type; t != model.SecretDockerConfig {
		return "", model.Problemf(app.Path("secrets", i, "type"), "Secret %s logs Nuclio's pods in to the registry, and kubelet reads a login only from a Secret of type %s; set type: %q (it is %s)",
			name, model.SecretDockerConfig, model.SecretDockerConfig, t)
	}
	return name, nil
}

// nuclioPodLabels are the labels Nuclio puts on a function's pods: the
// function's own labels and its name.
func nuclioPodLabels(fn *kube.NuclioFunction) map[string]string {
	labels := maps.Clone(fn.Labels)
	labels[NuclioFunctionNameLabel] = fn.Name
	return labels
}

// NuclioDeployerLabels are the labels of the deploy Job's pods (which
// talk to the Kubernetes API and nothing else).
func NuclioDeployerLabels(app *model.App) map[string]string {
	return map[string]string{"app.kubernetes.io/name": app.Name, "app.kubernetes.io/component": "deployer"}
}

// nuclioDeployer renders the ServiceAccount, Role, RoleBinding and Job
// that set the function's state to NuclioDeployState (see NuclioFunctionApp).
func nuclioDeployer(app *model.App, fn *kube.NuclioFunction) ([]kube.Object, error) {
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
