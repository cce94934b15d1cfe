package secrets

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/plugin"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/decrypt"
	"golang.org/x/crypto/ssh"
	sigsyaml "sigs.k8s.io/yaml"
)

// canDecrypt says whether id alone decrypts the file (as "sops decrypt").
func canDecrypt(t *testing.T, path string, id *age.X25519Identity) bool {
	t.Helper()
	isolateAge(t, id.String())
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = decrypt.DataWithFormat(raw, formats.Yaml)
	return err == nil
}

var postgres, minio = lab[0], lab[1]

func TestPathRegexChoosesTheRule(t *testing.T) {
	f := newFixture(t, "")
	cvatKey, otherKey, unused := newIdentity(t), newIdentity(t), newIdentity(t)
	// path_regex is matched against the path relative to .sops.yaml's
	// folder, first match wins, as in sops.
	f.writeConfig(t, `creation_rules:
  - path_regex: ^apps/
    age: `+unused.Recipient().String()+`
  - path_regex: ^clusters/lab/infrastructure/secrets/cvat-[^/]*\.sops\.yaml$
    age: `+cvatKey.Recipient().String()+`
  - path_regex: \.sops\.yaml$
    age: `+otherKey.Recipient().String()+`
  - age: `+unused.Recipient().String()+`
`)
	if _, err := Create([]Secret{postgres, minio}, f.options()); err != nil {
		t.Fatal(err)
	}
	pg, mi := filepath.Join(f.dir, postgres.FileName()), filepath.Join(f.dir, minio.FileName())
	for _, c := range []struct {
		file string
		id   *age.X25519Identity
		want bool
	}{{pg, cvatKey, true}, {pg, otherKey, false}, {pg, unused, false}, {mi, otherKey, true}, {mi, cvatKey, false}, {mi, unused, false}} {
		if got := canDecrypt(t, c.file, c.id); got != c.want {
			t.Errorf("%s decrypts with %s: %v, want %v", filepath.Base(c.file), c.id.Recipient(), got, c.want)
		}
	}
}

func TestNearestConfigWins(t *testing.T) {
	f := newFixture(t, `creation_rules:
  - pgp: FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4
`)
	// The cluster's own .sops.yaml, nearer to the folder, and its
	// path_regex relative to itself.
	near := filepath.Join(f.root, "clusters", "lab", ".sops.yaml")
	rule := "creation_rules:\n  - path_regex: ^infrastructure/secrets/\n    age: " + f.id.Recipient().String() + "\n"
	if err := os.WriteFile(near, []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create([]Secret{minio}, f.options()); err != nil {
		t.Fatal(err)
	}
	if !canDecrypt(t, filepath.Join(f.dir, minio.FileName()), f.id) {
		t.Error("not encrypted to the nearest .sops.yaml's recipient")
	}
}

func TestRulesCreateAccepts(t *testing.T) {
	second := newIdentity(t)
	for _, tc := range []struct {
		name, rules      string
		decryptors       []*age.X25519Identity // besides the fixture's
		encryptedRegex   string
		unencryptedRegex string
		indent           string
	}{
		{name: "no encrypted_regex gets the default", rules: "creation_rules:\n  - age: RECIPIENT\n",
			encryptedRegex: DefaultEncryptedRegex, indent: "    "},
		{name: "unencrypted_regex keeping the plain parts", rules: "creation_rules:\n  - unencrypted_regex: ^(apiVersion|kind|metadata)$\n    age: RECIPIENT\n",
			unencryptedRegex: "^(apiVersion|kind|metadata)$", indent: "    "},
		{name: "two recipients and the YAML store's indent", rules: "stores:\n  yaml:\n    indent: 2\ncreation_rules:\n  - age: RECIPIENT, " + second.Recipient().String() + "\n",
			decryptors: []*age.X25519Identity{second}, encryptedRegex: DefaultEncryptedRegex, indent: "  "},
		{name: "key groups with Shamir", rules: "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [RECIPIENT]\n      - age: [" + second.Recipient().String() + ", RECIPIENT]\n",
			encryptedRegex: DefaultEncryptedRegex, indent: "    "},
		{name: "an ssh recipient beside an age one", rules: "creation_rules:\n  - age: RECIPIENT," + sshRecipient(t) + "\n",
			encryptedRegex: DefaultEncryptedRegex, indent: "    "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.rules)
			if _, err := Create([]Secret{postgres}, f.options()); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(f.dir, postgres.FileName())
			raw, _ := os.ReadFile(path)
			var doc struct {
				Metadata   map[string]string
				StringData map[string]string `json:"stringData"`
				Sops       map[string]any
			}
			if err := sigsyaml.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Metadata["name"] != postgres.Name || doc.Metadata["namespace"] != postgres.Namespace {
				t.Errorf("metadata %v is not in the clear", doc.Metadata)
			}
			for k, v := range doc.StringData {
				if !isEncrypted(v) {
					t.Errorf("stringData.%s is in the clear", k)
				}
			}
			if got, _ := doc.Sops["encrypted_regex"].(string); got != tc.encryptedRegex {
				t.Errorf("encrypted_regex %q, want %q", got, tc.encryptedRegex)
			}
			if got, _ := doc.Sops["unencrypted_regex"].(string); got != tc.unencryptedRegex {
				t.Errorf("unencrypted_regex %q, want %q", got, tc.unencryptedRegex)
			}
			if !strings.Contains(string(raw), "\n"+tc.indent+"name: cvat-postgres\n") {
				t.Errorf("not indented by %q:\n%s", tc.indent, raw)
			}
			for _, id := range append(tc.decryptors, f.id) {
				got := decryptSOPS(t, path, id)
				if got.StringData["database"] != "cvat_database" || len(got.StringData["password"]) != DefaultLength {
					t.Errorf("%s decrypts to other values", id.Recipient())
				}
			}
		})
	}
}

func sshRecipient(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, rules string
		inDir       bool   // .sops.yaml in the secrets folder itself
		want        string // in the error
	}{
		{name: "no .sops.yaml", want: "no .sops.yaml in "},
		{name: "no creation rules", rules: "stores:\n  yaml:\n    indent: 2\n", want: ".sops.yaml: it has no creation_rules"},
		{name: "no rule matches", rules: "creation_rules:\n  - path_regex: ^apps/\n    age: RECIPIENT\n",
			want: "no creation rule's path_regex matches clusters/lab/infrastructure/secrets/cvat-cvat-postgres.sops.yaml"},
		{name: "pgp only", rules: "creation_rules:\n  - pgp: FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4\n",
			want: "names pgp key FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4; render -secrets encrypts to age recipients only"},
		{name: "age and kms", rules: "creation_rules:\n  - age: RECIPIENT\n    kms: arn:aws:kms:eu-west-1:111122223333:key/abcd\n",
			want: "names kms key arn:aws:kms:eu-west-1:111122223333:key/abcd; render -secrets encrypts to age recipients only"},
		{name: "no key at all", rules: "creation_rules:\n  - path_regex: secrets/\n", want: "names no age recipient (age1...)"},
		{name: "ssh only", rules: "creation_rules:\n  - age: " + sshRecipient(t) + "\n", want: "names no age recipient (age1...)"},
		{name: "plugin", rules: "creation_rules:\n  - age: " + plugin.EncodeRecipient("yubikey", []byte("0123456789abcdefghij")) + "\n",
			want: "names the age plugin recipient age1yubikey1"},
		{name: "metadata encrypted", rules: "creation_rules:\n  - encrypted_regex: ^(metadata|stringData)$\n    age: RECIPIENT\n",
			want: "encrypts metadata, which Flux's kustomize-controller needs in the clear"},
		{name: "everything encrypted", rules: "creation_rules:\n  - unencrypted_suffix: _unencrypted\n    age: RECIPIENT\n",
			want: "encrypts apiVersion, which Flux's kustomize-controller needs in the clear"},
		{name: "a value left in the clear", rules: "creation_rules:\n  - encrypted_regex: ^password$\n    age: RECIPIENT\n",
			want: "would leave stringData.database in the clear"},
		{name: "two choices of what to encrypt", rules: "creation_rules:\n  - encrypted_regex: ^data$\n    unencrypted_regex: ^kind$\n    age: RECIPIENT\n",
			want: "uses more than one of encrypted_suffix"},
		{name: "bad regexp", rules: "creation_rules:\n  - path_regex: '('\n    age: RECIPIENT\n", want: "can not compile regexp"},
		{name: "bad recipient", rules: "creation_rules:\n  - age: age1notakey\n", want: "failed to parse input"},
		{name: ".sops.yaml where Flux reads it", rules: "creation_rules:\n  - age: RECIPIENT\n", inDir: true,
			want: ".sops.yaml is inside the secrets folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.rules)
			if tc.inDir {
				if err := os.Rename(filepath.Join(f.root, ".sops.yaml"), filepath.Join(f.dir, ".sops.yaml")); err != nil {
					t.Fatal(err)
				}
			}
			before := snapshot(t, f.dir)
			o := f.options()
			o.Ask = func(Secret, Key) (string, bool) { t.Error("asked before .sops.yaml was checked"); return "", false }
			res, err := Create([]Secret{postgres, lab[3]}, o)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want a *ConfigError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n%v\nwant it to say\n%s", err, tc.want)
			}
			if tc.rules != "" && ce.Config == "" {
				t.Error("the error names no .sops.yaml")
			}
			if res.Changed() || len(res.Skipped) != 0 {
				t.Errorf("result %+v, want nothing done", res)
			}
			if after := snapshot(t, f.dir); len(after) != len(before) {
				t.Errorf("the folder changed: %d files, had %d", len(after), len(before))
			}
		})
	}
}

func TestSOPSConfigHelpRuleWorks(t *testing.T) {
	// The rule SOPSConfigHelp shows, with a real recipient, is one Create
	// follows.
	_, rest, ok := strings.Cut(SOPSConfigHelp, "     creation_rules:\n")
	if !ok {
		t.Fatal("SOPSConfigHelp shows no creation_rules")
	}
	var lines []string
	for _, l := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(l, "       ") {
			break
		}
		lines = append(lines, strings.TrimPrefix(l, "     "))
	}
	rules := "creation_rules:\n" + strings.ReplaceAll(strings.Join(lines, "\n"), "age1...", "RECIPIENT") + "\n"
	f := newFixture(t, rules)
	if _, err := Create([]Secret{minio}, f.options()); err != nil {
		t.Fatalf("the rule of SOPSConfigHelp\n%s\nfails: %v", rules, err)
	}
	if !canDecrypt(t, filepath.Join(f.dir, minio.FileName()), f.id) {
		t.Error("not decryptable")
	}
}

func TestDirOutsideRepoRoot(t *testing.T) {
	f := newFixture(t, ageRule)
	o := f.options()
	o.RepoRoot = filepath.Join(f.root, "clusters", "other")
	if _, err := Create([]Secret{minio}, o); err == nil || !strings.Contains(err.Error(), "is not inside the repository root") {
		t.Errorf("error %v", err)
	}
}

func TestSopsYmlIsNamed(t *testing.T) {
	f := newFixture(t, "")
	write(t, filepath.Join(f.root, ".sops.yml"), strings.ReplaceAll(ageRule, "RECIPIENT", f.id.Recipient().String()))
	_, err := Create([]Secret{minio}, f.options())
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "(sops reads no "+filepath.Join(f.root, ".sops.yml")+": rename it .sops.yaml)") {
		t.Errorf("error %v", err)
	}
}

func TestHybridRecipient(t *testing.T) {
	// A post-quantum hybrid key (age1pq1...), which kustomize-controller
	// v1.9's sops reads too, alone in the rule.
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, "")
	write(t, filepath.Join(f.root, ".sops.yaml"), "creation_rules:\n  - age: "+pq.Recipient().String()+"\n")
	if _, err := Create([]Secret{minio}, f.options()); err != nil {
		t.Fatal(err)
	}
	isolateAge(t, pq.String())
	raw, _ := os.ReadFile(filepath.Join(f.dir, minio.FileName()))
	if _, err := decrypt.DataWithFormat(raw, formats.Yaml); err != nil {
		t.Errorf("the hybrid identity does not decrypt: %v", err)
	}
}
