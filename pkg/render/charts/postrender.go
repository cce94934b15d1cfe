package charts

import (
	"bytes"

	"sigs.k8s.io/kustomize/api/builtins"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
)

// metadataPostRenderer is the post-renderer helm-controller gives Helm for
// a HelmRelease without spec.postRenderers (internal/postrender/build.go,
// BuildPostRenderers): spec.commonMetadata's labels and annotations, then
// the origin labels, each set on metadata only by Kustomize's own label
// and annotation transformers (internal/postrender/transformer.go). Going
// through Kustomize as helm-controller does keeps its behaviour too: for
// instance two documents with one kind, namespace and name are an error.
type metadataPostRenderer struct {
	steps []metadataStep
}

// metadataStep sets labels, or annotations, on every object.
type metadataStep struct {
	annotations bool
	set         map[string]string
}

func newMetadataPostRenderer(r Release) *metadataPostRenderer {
	p := &metadataPostRenderer{}
	if cm := r.CommonMetadata; cm != nil {
		if len(cm.Labels) > 0 {
			p.steps = append(p.steps, metadataStep{set: cm.Labels})
		}
		if len(cm.Annotations) > 0 {
			p.steps = append(p.steps, metadataStep{annotations: true, set: cm.Annotations})
		}
	}
	// Last, so that an origin label wins over a common label of the same key.
	if r.HelmRelease.Name != "" {
		p.steps = append(p.steps, metadataStep{set: originLabels(r.HelmRelease)})
	}
	return p
}

// Run implements helm.sh/helm/v4/pkg/postrenderer.PostRenderer.
func (p *metadataPostRenderer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	if len(p.steps) == 0 {
		return in, nil
	}
	rm, err := resmap.NewFactory(provider.NewDefaultDepProvider().GetResourceFactory()).NewResMapFromBytes(in.Bytes())
	if err != nil {
		return nil, err
	}
	for _, step := range p.steps {
		var t resmap.Transformer
		if step.annotations {
			t = &builtins.AnnotationsTransformerPlugin{
				Annotations: step.set,
				FieldSpecs:  []kustypes.FieldSpec{{Path: "metadata/annotations", CreateIfNotPresent: true}},
			}
		} else {
			t = &builtins.LabelTransformerPlugin{
				Labels:     step.set,
				FieldSpecs: []kustypes.FieldSpec{{Path: "metadata/labels", CreateIfNotPresent: true}},
			}
		}
		if err := t.Transform(rm); err != nil {
			return nil, err
		}
	}
	out, err := rm.AsYaml()
	if err != nil {
		return nil, err
	}
	return bytes.NewBuffer(out), nil
}
