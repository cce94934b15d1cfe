package crds

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NuclioGroup and NuclioVersion are the API group and version of Nuclio's
// custom resources.
const (
	NuclioGroup   = "nuclio.io"
	NuclioVersion = "v1beta1"
)

// Nuclio returns CRDs for NuclioFunction and NuclioProject. Nuclio's module
// is not on the module proxy, and its own CRDs carry no schema, so these
// preserve every unknown field and behave as the real ones do. Like the real
// ones they have no status subresource: status is written with the object.
func Nuclio() []*apiextensionsv1.CustomResourceDefinition {
	return []*apiextensionsv1.CustomResourceDefinition{
		nuclioCRD("NuclioFunction", "nucliofunctions", "nucliofunction"),
		nuclioCRD("NuclioProject", "nuclioprojects", "nuclioproject"),
	}
}

func nuclioCRD(kind, plural, singular string) *apiextensionsv1.CustomResourceDefinition {
	preserve := true
	return &apiextensionsv1.CustomResourceDefinition{
		TypeMeta: metav1.TypeMeta{
			APIVersion: apiextensionsv1.SchemeGroupVersion.String(),
			Kind:       "CustomResourceDefinition",
		},
		ObjectMeta: metav1.ObjectMeta{Name: plural + "." + NuclioGroup},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: NuclioGroup,
			Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Kind:     kind,
				ListKind: kind + "List",
				Plural:   plural,
				Singular: singular,
			},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name:    NuclioVersion,
				Served:  true,
				Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{
					OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type:                   "object",
						XPreserveUnknownFields: &preserve,
					},
				},
			}},
		},
	}
}
