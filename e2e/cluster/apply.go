package cluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// FieldManager is the field manager of the harness's server-side applies.
const FieldManager = "polylab-e2e"

// Apply server-side applies every object of a multi-document YAML stream, in
// order, as FieldManager, taking over conflicting fields. Empty documents are
// skipped; a namespaced object without a namespace goes to "default". It
// returns the objects as the API server stored them, and stops at the first
// error, which names the object. After a CustomResourceDefinition, Apply
// waits until it is established, so objects of its kind may follow it in the
// same stream.
func (c *Cluster) Apply(ctx context.Context, manifests []byte) ([]*unstructured.Unstructured, error) {
	objs, err := DecodeObjects(manifests)
	if err != nil {
		return nil, err
	}
	if err := c.ApplyObjects(ctx, objs...); err != nil {
		return nil, err
	}
	return objs, nil
}

// ApplyObjects is Apply for objects already decoded (by DecodeObjects, say,
// then patched: a GitRepository's spec.url pointed at the test's git
// server). Each object is updated in place with the server's answer.
func (c *Cluster) ApplyObjects(ctx context.Context, objs ...*unstructured.Unstructured) error {
	for _, obj := range objs {
		if err := c.applyOne(ctx, obj); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) applyOne(ctx context.Context, obj *unstructured.Unstructured) error {
	if obj.GetNamespace() == "" {
		namespaced, err := c.Client.IsObjectNamespaced(obj)
		if err != nil {
			return fmt.Errorf("applying %s: %w", describe(obj), err)
		}
		if namespaced {
			obj.SetNamespace("default")
		}
	}
	// Identity before the call: Apply overwrites obj with the server's answer.
	what := describe(obj)
	if err := c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s: %w", what, err)
	}
	if obj.GroupVersionKind().GroupKind() == crdGroupKind {
		return c.waitCRDsEstablished(ctx, []string{obj.GetName()})
	}
	return nil
}

var crdGroupKind = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}

// DecodeObjects splits a multi-document YAML (or JSON) stream into objects,
// skipping empty documents. Every object needs apiVersion and kind.
func DecodeObjects(manifests []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifests)))
	var objs []*unstructured.Unstructured
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading YAML document %d: %w", i, err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("YAML document %d: %w", i, err)
		}
		if len(m) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{Object: m}
		if obj.GetAPIVersion() == "" || obj.GetKind() == "" {
			return nil, fmt.Errorf("YAML document %d (%q): apiVersion and kind are required", i, obj.GetName())
		}
		objs = append(objs, obj)
	}
}

// List returns the live objects of a kind (gvk names the item kind, not the
// List kind), for example
//
//	c.List(ctx, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, client.InNamespace("default"))
func (c *Cluster) List(ctx context.Context, gvk schema.GroupVersionKind, opts ...client.ListOption) ([]unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := c.Client.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("listing %s: %w", gvk, err)
	}
	return list.Items, nil
}

// describe names an object as kind namespace/name.
func describe(obj client.Object) string {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	if obj.GetNamespace() == "" {
		return kind + " " + obj.GetName()
	}
	return kind + " " + obj.GetNamespace() + "/" + obj.GetName()
}
