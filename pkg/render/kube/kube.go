// Package kube builds and prints Kubernetes objects: typed values from
// k8s.io/api and Flux's API modules, plus small typed structs for the few
// custom resources whose Go modules are too heavy to import (MetalLB,
// Nuclio, K3s's HelmChartConfig).
package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Object is any typed object the renderer writes: it has a kind and metadata.
type Object interface {
	metav1.Object
	GetObjectKind() schema.ObjectKind
}

// Meta is the metadata of a namespaced object.
func Meta(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace}
}

// GVK returns the object's group, version and kind.
func GVK(o Object) schema.GroupVersionKind {
	return o.GetObjectKind().GroupVersionKind()
}

// Ref names an object as people and messages do: Kind/namespace/name.
func Ref(o Object) string {
	if o.GetNamespace() == "" {
		return GVK(o).Kind + "/" + o.GetName()
	}
	return GVK(o).Kind + "/" + o.GetNamespace() + "/" + o.GetName()
}

// FileName is the file an object is written to in its folder: kind-name.yaml.
func FileName(o Object) string {
	return strings.ToLower(GVK(o).Kind) + "-" + o.GetName() + ".yaml"
}

// Marshal prints an object as YAML with sorted keys. Fields Kubernetes
// fills in (status, creationTimestamp) are dropped: they are not ours to
// commit, and Flux strips status anyway.
func Marshal(o Object) ([]byte, error) {
	if GVK(o).Kind == "" {
		return nil, fmt.Errorf("kube: %T %s has no apiVersion/kind", o, o.GetName())
	}
	// Through encoding/json, which caches what it learns of each type.
	// (runtime.DefaultUnstructuredConverter copies its whole field cache
	// on every miss, quadratic in the fields of k8s.io/api's types: a
	// fifth of a short render went into warming it up.)
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("kube: %s: %w", Ref(o), err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // yaml.v2 prints json.Number as the number it is
	var u map[string]any
	if err := dec.Decode(&u); err != nil {
		return nil, fmt.Errorf("kube: %s: %w", Ref(o), err)
	}
	delete(u, "status")
	if meta, ok := u["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	// A StatefulSet's claim templates are objects too, with their own status.
	if spec, ok := u["spec"].(map[string]any); ok {
		if claims, ok := spec["volumeClaimTemplates"].([]any); ok {
			for _, c := range claims {
				if c, ok := c.(map[string]any); ok {
					delete(c, "status")
				}
			}
		}
	}
	// Plain maps, slices and scalars, printed as yaml.v2 prints them.
	b, err = printYAML(u)
	if errors.Is(err, errUnusual) {
		return yamlv2.Marshal(u)
	}
	return b, err
}

// TypeMeta is the apiVersion and kind of a group-version's kind.
func TypeMeta(gv schema.GroupVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: gv.String(), Kind: kind}
}

// PodLabels are the labels of a set of pods in a namespace: pods that
// something creates at run time (a chart, a controller), which the
// rendered tree does not show as a pod template.
type PodLabels struct {
	Namespace string
	Labels    map[string]string
}
