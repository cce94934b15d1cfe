package review

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// SecretsREADME tells the owner which Secrets the model expects and how to
// commit them encrypted; the renderer never writes a secret value.
func SecretsREADME(c *model.Cluster) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Secrets of %s\n\n", c.Name)
	fmt.Fprintf(&b, "Flux applies every file in this folder and decrypts it with the age key in Secret\n")
	fmt.Fprintf(&b, "`flux-system/%s`. Only SOPS-encrypted files belong here; render writes none.\n\n", c.Flux.SOPS.SecretName)
	b.WriteString("To add one (with `.sops.yaml` at the repository root naming your age public key):\n\n")
	b.WriteString("```sh\n")
	b.WriteString("kubectl create secret generic NAME -n NAMESPACE --from-literal=KEY=VALUE --dry-run=client -o yaml \\\n")
	b.WriteString("  | sops --encrypt --encrypted-regex '^(data|stringData)$' --input-type yaml --output-type yaml /dev/stdin \\\n")
	fmt.Fprintf(&b, "  > clusters/%s/infrastructure/secrets/NAMESPACE-NAME.sops.yaml\n", c.Name)
	b.WriteString("```\n\n")
	b.WriteString("| namespace | Secret | keys | used by |\n|---|---|---|---|\n")
	type row struct{ ns, name, keys, users string }
	rows := map[string]*row{}
	for _, name := range slices.Sorted(maps.Keys(c.Apps)) {
		app := c.Apps[name]
		for _, s := range app.Secrets {
			id := app.Namespace + "/" + s.Name
			if r, ok := rows[id]; ok {
				r.users += ", " + app.Name
				continue
			}
			keys := ""
			for i, k := range s.Keys {
				if i > 0 {
					keys += ", "
				}
				keys += "`" + k + "`"
			}
			rows[id] = &row{app.Namespace, s.Name, keys, app.Name}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(rows)) {
		r := rows[id]
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.ns, r.name, r.keys, r.users)
	}
	return b.Bytes()
}
