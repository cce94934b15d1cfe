package secrets

import (
	"github.com/polylab/polylab-gitops/pkg/render/component"
	"github.com/polylab/polylab-gitops/pkg/render/model"
)

// Declared lists the Secrets the model's apps read, each with how its
// keys' values are made (model.Generate; a random password by default).
// Apps that share a Secret agree on it (model validation refuses two
// different ways for one key).
func Declared(m *model.Model) []Secret {
	var out []Secret
	for _, d := range component.DeclaredSecrets(m) {
		s := Secret{Namespace: d.Namespace, Name: d.Name, Description: d.Description, Type: d.Type}
		for _, k := range d.Keys {
			s.Keys = append(s.Keys, Key{Name: k, Kind: kindOf(d.Generate[k])})
		}
		out = append(out, s)
	}
	return out
}

// kindOf is the Kind a model.Generate asks for.
func kindOf(g model.Generate) Kind {
	switch {
	case g.Value != nil:
		return Literal(*g.Value)
	case g.Supplied != nil:
		return Supplied{Hint: *g.Supplied}
	case g.Hex > 0:
		return Hex{Bytes: g.Hex}
	case g.Base64 > 0:
		return Base64{Bytes: g.Base64}
	}
	return Password{Length: g.Password}
}
