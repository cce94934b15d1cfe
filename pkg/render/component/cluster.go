package component

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/polylab/polylab-gitops/pkg/render/kube"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// Namespaces renders the unit that creates every app namespace. Keeping
// them in one unit means removing an app never deletes a namespace that
// another app still uses.
func Namespaces(m *model.Model) Unit {
	u := Unit{Name: "namespaces", Layer: model.LayerInfrastructure, Origin: model.Path{"apps"},
		Owner: "the cluster's namespaces", Rename: "rename the app that clashes"}
	for _, ns := range m.Namespaces {
		if ns.System() {
			continue
		}
		u.Objects = append(u.Objects, &corev1.Namespace{
			TypeMeta:   kube.TypeMeta(corev1.SchemeGroupVersion, "Namespace"),
			ObjectMeta: metav1.ObjectMeta{Name: ns.Name},
		})
		u.Provides = append(u.Provides, Namespace(ns.Name))
	}
	return u
}

// SecretsDir is the folder of the owner's SOPS-encrypted Secrets, in the
// infrastructure layer.
const SecretsDir = "secrets"

// Secrets is the unit for the Secrets the owner commits SOPS-encrypted in
// clusters/<cluster>/infrastructure/secrets. The renderer writes none of
// them: the folder has no kustomization.yaml of ours, so Flux applies
// every file the owner puts there and decrypts it with the age key the
// bootstrap installed. Its README lists what the model expects.
func Secrets(m *model.Model) Unit {
	u := Unit{Name: SecretsDir, Layer: model.LayerInfrastructure, Provides: []Key{SecretsKey}, Decrypt: true, OwnerFiles: true,
		Files:  map[string][]byte{"README.md": secretsREADME(m)},
		Origin: model.Path{"apps"}, Owner: "the cluster's secrets", Rename: "rename the app that clashes"}
	for _, ns := range m.Namespaces {
		if ns.System() {
			continue
		}
		for _, app := range ns.Apps {
			if len(app.Secrets) > 0 {
				u.Needs = append(u.Needs, Need{Namespace(ns.Name), app.Path("secrets")})
				break
			}
		}
	}
	return u
}

// DeclaredSecret is a Secret the model expects in the secrets folder, and
// the apps that read it.
type DeclaredSecret struct {
	Namespace string
	model.SecretRef
	Apps []string
}

// DeclaredSecrets lists every Secret the apps read, by namespace and name;
// apps that share one list the union of the keys they read.
func DeclaredSecrets(m *model.Model) []DeclaredSecret {
	var out []DeclaredSecret
	for _, ns := range m.Namespaces {
		for _, app := range ns.Apps {
			for _, s := range app.Secrets {
				i := slices.IndexFunc(out, func(d DeclaredSecret) bool { return d.Namespace == ns.Name && d.Name == s.Name })
				if i < 0 {
					out = append(out, DeclaredSecret{Namespace: ns.Name, SecretRef: model.SecretRef{Name: s.Name, Description: s.Description, Type: s.Type}})
					i = len(out) - 1
				}
				d := &out[i]
				d.Apps = append(d.Apps, app.Name)
				for _, k := range s.Keys {
					if !slices.Contains(d.Keys, k) {
						d.Keys = append(d.Keys, k)
					}
				}
				for k, g := range s.Generate {
					if d.Generate == nil {
						d.Generate = map[string]model.Generate{}
					}
					d.Generate[k] = g
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b DeclaredSecret) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out
}

// secretsREADME tells the owner which Secrets the model expects and how to
// commit them encrypted; the renderer never writes a secret value.
func secretsREADME(m *model.Model) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Secrets of %s\n\n", m.Name)
	fmt.Fprintf(&b, "Flux applies every file in this folder and decrypts it with the age key in Secret\n")
	fmt.Fprintf(&b, "`flux-system/%s`. Only SOPS-encrypted files belong here, one Secret each, named\n", m.Flux.SOPS.SecretName)
	b.WriteString("`<namespace>-<name>.sops.yaml`; a render never changes them.\n\n")
	b.WriteString("Create every Secret below that is missing, with generated values, encrypted to the age recipients\n")
	b.WriteString("of `.sops.yaml` at the repository root (the command explains how to write it when it is missing):\n\n")
	fmt.Fprintf(&b, "```sh\ngo run ./cmd/render -cluster %s -secrets\n```\n\n", m.Name)
	b.WriteString("It asks for the values only you have (`supplied`), leaves existing Secrets alone, and prints no value.\n")
	b.WriteString("To add one by hand:\n\n")
	b.WriteString("```sh\n")
	b.WriteString("kubectl create secret generic NAME -n NAMESPACE --from-literal=KEY=VALUE --dry-run=client -o yaml \\\n")
	b.WriteString("  | sops --encrypt --encrypted-regex '^(data|stringData)$' --input-type yaml --output-type yaml /dev/stdin \\\n")
	fmt.Fprintf(&b, "  > clusters/%s/infrastructure/secrets/NAMESPACE-NAME.sops.yaml\n", m.Name)
	b.WriteString("```\n\n")
	declared := DeclaredSecrets(m)
	if slices.ContainsFunc(declared, func(s DeclaredSecret) bool { return s.Type == model.SecretDockerConfig }) {
		b.WriteString("A registry login (type `" + model.SecretDockerConfig + "`) is made the same way by\n")
		b.WriteString("`kubectl create secret docker-registry NAME -n NAMESPACE --docker-server=REGISTRY --docker-username=USER --docker-password=TOKEN`.\n\n")
	}
	b.WriteString("| namespace | Secret | keys | used by |\n|---|---|---|---|\n")
	for _, s := range declared {
		keys := make([]string, len(s.Keys))
		for i, k := range s.Keys {
			keys[i] = "`" + k + "`"
			if g, ok := s.Generate[k]; ok {
				keys[i] += " (" + describeGenerate(g) + ")"
			}
		}
		name := s.Name
		if s.Type == model.SecretDockerConfig {
			name += " (registry login)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", s.Namespace, name, strings.Join(keys, ", "), strings.Join(s.Apps, ", "))
	}
	return b.Bytes()
}

// describeGenerate says how render -secrets makes a value, for the README;
// a fixed value is no secret and is shown.
func describeGenerate(g model.Generate) string {
	switch {
	case g.Value != nil:
		return fmt.Sprintf("%q", *g.Value)
	case g.Supplied != nil:
		return "yours to supply: " + *g.Supplied
	case g.Hex > 0:
		return fmt.Sprintf("%d random bytes, hex", g.Hex)
	case g.Base64 > 0:
		return fmt.Sprintf("%d random bytes, base64", g.Base64)
	}
	return fmt.Sprintf("a password of %d characters", g.Password)
}
