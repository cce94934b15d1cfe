package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keyservice"
	jsonstore "github.com/getsops/sops/v3/stores/json"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"
)

// fluxKeyService decrypts age keys as kustomize-controller v1.9's key
// service does (internal/sops/keyservice/server.go, decryptWithAge): with
// the identities of the sops-age Secret's .agekey data, imported with
// age.ParsedIdentities.Import, and nothing from the environment.
type fluxKeyService struct {
	keyservice.UnimplementedKeyServiceServer
	ids sopsage.ParsedIdentities
}

func (s fluxKeyService) Decrypt(_ context.Context, req *keyservice.DecryptRequest) (*keyservice.DecryptResponse, error) {
	k := req.Key.GetAgeKey()
	if k == nil {
		return nil, errors.New("not an age key")
	}
	mk := sopsage.MasterKey{Recipient: k.Recipient}
	s.ids.ApplyToMasterKey(&mk)
	mk.EncryptedKey = string(req.Ciphertext)
	plain, err := mk.Decrypt()
	if err != nil {
		return nil, err
	}
	return &keyservice.DecryptResponse{Plaintext: plain}, nil
}

// TestKustomizeControllerDecrypts follows what kustomize-controller v1.9
// does with the folder: it writes a kustomization.yaml listing every .yaml
// file (fluxcd/pkg/kustomize, generateKustomization), builds it with
// kustomize, and decrypts each resource carrying sops.mac through sops's
// JSON store (internal/decryptor/decryptor.go, DecryptResource and
// SopsDecryptWithFormat; the MAC is not checked there by default).
func TestKustomizeControllerDecrypts(t *testing.T) {
	f := newFixture(t, ageRule)
	o := f.options()
	o.Ask = ask(map[string]string{"cvat/nuclio-registry/.dockerconfigjson": "tok-flux-0001"})
	if _, err := Create(lab, o); err != nil {
		t.Fatal(err)
	}
	var resources []string
	entries, _ := os.ReadDir(f.dir)
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".yaml" {
			resources = append(resources, e.Name())
		}
	}
	k, _ := sigsyaml.Marshal(kustypes.Kustomization{
		TypeMeta:  kustypes.TypeMeta{APIVersion: kustypes.KustomizationVersion, Kind: kustypes.KustomizationKind},
		Resources: resources,
	})
	write(t, filepath.Join(f.dir, "kustomization.yaml"), string(k))
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), f.dir)
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}

	// The sops-age Secret's age.agekey, as age-keygen writes it.
	var ids sopsage.ParsedIdentities
	agekey := "# created: 2026-01-01T00:00:00Z\n# public key: " + f.id.Recipient().String() + "\n" + f.id.String() + "\n"
	if err := ids.Import(agekey); err != nil {
		t.Fatal(err)
	}
	svcs := []keyservice.KeyServiceClient{keyservice.NewCustomLocalClient(fluxKeyService{ids: ids})}
	isolateAge(t, "") // nothing from the environment helps

	got := map[string]corev1.Secret{}
	for _, res := range m.Resources() {
		sopsField := res.Field("sops")
		if res.GetKind() != "Secret" || sopsField.IsNilOrEmpty() || sopsField.Value.Field("mac").IsNilOrEmpty() {
			t.Errorf("%s/%s is no SOPS-encrypted Secret to kustomize-controller", res.GetNamespace(), res.GetName())
			continue
		}
		in, err := res.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		store := jsonstore.NewStore(&config.NewStoresConfig().JSON)
		tree, err := store.LoadEncryptedFile(in)
		if err != nil {
			t.Fatal(err)
		}
		key, err := tree.Metadata.GetDataKeyWithKeyServices(svcs, sops.DefaultDecryptionOrder)
		if err != nil {
			t.Fatalf("%s: %v", res.GetName(), err)
		}
		if _, err := tree.Decrypt(key, aes.NewCipher()); err != nil {
			t.Fatal(err)
		}
		out, err := store.EmitPlainFile(tree.Branches)
		if err != nil {
			t.Fatal(err)
		}
		var s corev1.Secret
		d := json.NewDecoder(strings.NewReader(string(out)))
		d.DisallowUnknownFields()
		if err := d.Decode(&s); err != nil {
			t.Fatalf("%s decrypts to no v1 Secret: %v", res.GetName(), err)
		}
		got[s.Namespace+"/"+s.Name] = s
	}
	for _, want := range lab {
		s, ok := got[want.ID()]
		if !ok {
			t.Errorf("kustomize built no %s", want.ID())
			continue
		}
		for _, k := range want.Keys {
			checkValue(t, want.ID()+" "+k.Name, k.Kind, s.StringData[k.Name])
		}
	}
	if got["cvat/nuclio-registry"].StringData[".dockerconfigjson"] != "tok-flux-0001" {
		t.Error("the supplied token did not survive")
	}
}
