package secrets

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/decrypt"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// The tests make a throwaway age identity each run; no key is committed.

// fixture is a repository in a temporary folder: .sops.yaml at the root,
// the secrets folder below it.
type fixture struct {
	root, dir string
	id        *age.X25519Identity
}

func newIdentity(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// newFixture writes .sops.yaml from rules, in which RECIPIENT stands for
// the fixture's age public key.
func newFixture(t *testing.T, rules string) *fixture {
	t.Helper()
	f := &fixture{root: t.TempDir(), id: newIdentity(t)}
	f.dir = filepath.Join(f.root, "clusters", "lab", "infrastructure", "secrets")
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if rules != "" {
		f.writeConfig(t, rules)
	}
	return f
}

func (f *fixture) writeConfig(t *testing.T, rules string) {
	t.Helper()
	rules = strings.ReplaceAll(rules, "RECIPIENT", f.id.Recipient().String())
	if err := os.WriteFile(filepath.Join(f.root, ".sops.yaml"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) options() Options { return Options{Dir: f.dir, RepoRoot: f.root} }

const ageRule = `creation_rules:
  - path_regex: ^clusters/[^/]+/infrastructure/secrets/.*\.sops\.yaml$
    encrypted_regex: ^(data|stringData)$
    age: RECIPIENT
`

// isolateAge points sops's age key lookup at identity alone: no key file,
// command or SSH key of the machine running the tests.
func isolateAge(t *testing.T, identity string) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", home)
	for _, v := range []string{"SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "SOPS_AGE_SSH_PRIVATE_KEY_CMD"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	t.Setenv("SOPS_AGE_KEY", identity)
}

// decryptSOPS decrypts a file as "sops decrypt" does, MAC checked, with the
// identity in SOPS_AGE_KEY, and decodes the Secret strictly.
func decryptSOPS(t *testing.T, path string, id *age.X25519Identity) *corev1.Secret {
	t.Helper()
	isolateAge(t, id.String())
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := decrypt.DataWithFormat(raw, formats.Yaml)
	if err != nil {
		t.Fatalf("decrypt %s: %v", path, err)
	}
	var s corev1.Secret
	if err := sigsyaml.UnmarshalStrict(plain, &s); err != nil {
		t.Fatalf("%s decrypts to no strict v1 Secret: %v", path, err)
	}
	return &s
}

func ask(values map[string]string) func(Secret, Key) (string, bool) {
	return func(s Secret, k Key) (string, bool) {
		v, ok := values[s.ID()+"/"+k.Name]
		return v, ok
	}
}

var lab = []Secret{
	{Namespace: "cvat", Name: "cvat-postgres", Description: "CVAT's database", Keys: []Key{
		{"database", Literal("cvat_database")},
		{"username", Literal("cvat_user")},
		{"password", Password{}},
	}},
	{Namespace: "minio", Name: "minio-root", Keys: []Key{
		{"rootUser", Literal("minio_admin")},
		{"rootPassword", Password{Length: 40}},
	}},
	{Namespace: "clearml", Name: "clearml-conf", Keys: []Key{
		{"apiserver_key", Hex{Bytes: 16}},
		{"secure_auth_token_secret", Base64{}},
		{"fileserver_key", Base64{Bytes: 24}},
	}},
	{Namespace: "cvat", Name: "nuclio-registry", Description: "the registry Nuclio pulls from", Type: string(corev1.SecretTypeDockerConfigJson), Keys: []Key{
		{".dockerconfigjson", Supplied{Hint: "the registry's login"}},
	}},
}

func TestCreateEncryptsWhatFluxNeeds(t *testing.T) {
	f := newFixture(t, ageRule)
	o := f.options()
	const token = "supplied-Token-value-4711"
	var asked []string
	o.Ask = func(s Secret, k Key) (string, bool) {
		asked = append(asked, s.ID()+"/"+k.Name)
		return token, true
	}
	res, err := Create(lab, o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(asked, []string{"cvat/nuclio-registry/.dockerconfigjson"}) {
		t.Errorf("asked %v, want only the supplied key", asked)
	}
	var created []string
	for _, p := range res.Created {
		created = append(created, p.Secret)
		if want := filepath.Join(f.dir, strings.ReplaceAll(p.Secret, "/", "-")+".sops.yaml"); p.File != want {
			t.Errorf("%s written to %s, want %s", p.Secret, p.File, want)
		}
	}
	if want := []string{"clearml/clearml-conf", "cvat/cvat-postgres", "cvat/nuclio-registry", "minio/minio-root"}; !slices.Equal(created, want) {
		t.Fatalf("created %v, want %v", created, want)
	}
	if len(res.Existing)+len(res.Skipped)+len(res.Incomplete) != 0 {
		t.Errorf("result %+v, want only created", res)
	}

	for _, want := range lab {
		path := filepath.Join(f.dir, want.FileName())
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", path, st.Mode().Perm())
		}
		raw, _ := os.ReadFile(path)
		assertPlainParts(t, raw, want)

		got := decryptSOPS(t, path, f.id)
		wantType := corev1.SecretType(want.secretType())
		if got.Namespace != want.Namespace || got.Name != want.Name || got.Type != wantType {
			t.Errorf("%s holds %s/%s of type %q, want %q", path, got.Namespace, got.Name, got.Type, wantType)
		}
		if len(got.StringData) != len(want.Keys) || len(got.Data) != 0 {
			t.Errorf("%s: stringData has %d keys and data %d, want %d and 0", path, len(got.StringData), len(got.Data), len(want.Keys))
		}
		for _, k := range want.Keys {
			v, ok := got.StringData[k.Name]
			if !ok {
				t.Errorf("%s lacks key %s", path, k.Name)
				continue
			}
			checkValue(t, want.ID()+" "+k.Name, k.Kind, v)
			if k.Name == ".dockerconfigjson" && v != token {
				t.Errorf("%s: the supplied key holds another value", path)
			}
			if bytes.Contains(raw, []byte(v)) {
				t.Errorf("%s holds the value of %s in the clear", path, k.Name)
			}
		}
	}
	assertOnlyFiles(t, f.dir, "clearml-clearml-conf.sops.yaml", "cvat-cvat-postgres.sops.yaml", "cvat-nuclio-registry.sops.yaml", "minio-minio-root.sops.yaml")
}

// assertPlainParts checks what Flux reads before decrypting: apiVersion,
// kind and metadata in the clear, every value encrypted, sops metadata
// with the age recipient and a MAC.
func assertPlainParts(t *testing.T, raw []byte, want Secret) {
	t.Helper()
	var doc struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   map[string]string `json:"metadata"`
		Type       string            `json:"type"`
		StringData map[string]string `json:"stringData"`
		Sops       struct {
			Age []struct {
				Recipient string `json:"recipient"`
				Enc       string `json:"enc"`
			} `json:"age"`
			MAC            string `json:"mac"`
			EncryptedRegex string `json:"encrypted_regex"`
			Version        string `json:"version"`
		} `json:"sops"`
	}
	if err := sigsyaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.APIVersion != "v1" || doc.Kind != "Secret" || doc.Type != want.secretType() ||
		doc.Metadata["name"] != want.Name || doc.Metadata["namespace"] != want.Namespace || len(doc.Metadata) != 2 {
		t.Errorf("plain parts %s %s %v %s, want v1 Secret %s %s", doc.APIVersion, doc.Kind, doc.Metadata, doc.Type, want.ID(), want.secretType())
	}
	for k, v := range doc.StringData {
		if !strings.HasPrefix(v, "ENC[AES256_GCM,data:") || !strings.HasSuffix(v, ",type:str]") {
			t.Errorf("%s: stringData.%s is not encrypted", want.ID(), k)
		}
	}
	if len(doc.Sops.Age) != 1 || !strings.HasPrefix(doc.Sops.Age[0].Recipient, "age1") ||
		!strings.Contains(doc.Sops.Age[0].Enc, "BEGIN AGE ENCRYPTED FILE") {
		t.Errorf("%s: sops.age is %+v, want the one recipient", want.ID(), doc.Sops.Age)
	}
	if !strings.HasPrefix(doc.Sops.MAC, "ENC[AES256_GCM,") || doc.Sops.EncryptedRegex != DefaultEncryptedRegex || doc.Sops.Version == "" {
		t.Errorf("%s: sops metadata mac %q encrypted_regex %q version %q", want.ID(), doc.Sops.MAC, doc.Sops.EncryptedRegex, doc.Sops.Version)
	}
}

// assertOnlyFiles checks the folder holds exactly names: no temporary file.
func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %v, want %v", dir, got, names)
	}
}

func TestSecondRunChangesNothing(t *testing.T) {
	f := newFixture(t, ageRule)
	o := f.options()
	o.Ask = ask(map[string]string{"cvat/nuclio-registry/.dockerconfigjson": "tok-123456"})
	if _, err := Create(lab, o); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, f.dir)
	o.Ask = func(Secret, Key) (string, bool) { t.Error("asked on the second run"); return "", false }
	// Even without .sops.yaml: nothing to encrypt needs none.
	if err := os.Remove(filepath.Join(f.root, ".sops.yaml")); err != nil {
		t.Fatal(err)
	}
	res, err := Create(lab, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed() || len(res.Created) != 0 || len(res.Existing) != len(lab) || len(res.Skipped) != 0 {
		t.Errorf("second run: %+v", res)
	}
	if got := res.String(); !strings.Contains(got, "nothing created; 4 exist") {
		t.Errorf("second run says %q", got)
	}
	if after := snapshot(t, f.dir); !maps.Equal(before, after) {
		t.Errorf("second run changed the folder")
	}
}

type fileState struct {
	content string
	mtime   int64
	mode    os.FileMode
}

func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		out[path] = fileState{string(b), st.ModTime().UnixNano(), st.Mode()}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSuppliedKeys(t *testing.T) {
	registry := lab[3]
	twoSupplied := Secret{Namespace: "clearml", Name: "s3", Description: "ClearML's S3 credentials", Keys: []Key{
		{"accessKey", Supplied{}},
		{"region", Literal("eu-west-1")},
		{"secretKey", Supplied{Hint: "from the S3 console"}},
	}}
	for _, tc := range []struct {
		name    string
		ask     func(Secret, Key) (string, bool)
		asked   []string
		created []string
		skipped []Skip
	}{
		{
			name: "no Ask",
			skipped: []Skip{
				{"clearml/s3", []string{"accessKey", "secretKey"}, "ClearML's S3 credentials: the owner supplies accessKey, secretKey (from the S3 console), and no value was given"},
				{"cvat/nuclio-registry", []string{".dockerconfigjson"}, "the registry Nuclio pulls from: the owner supplies .dockerconfigjson (the registry's login), and no value was given"},
			},
		},
		{
			name:  "the owner declines the first key: the second is not asked",
			ask:   ask(map[string]string{"cvat/nuclio-registry/.dockerconfigjson": "tok-abcdef"}),
			asked: []string{"clearml/s3/accessKey", "cvat/nuclio-registry/.dockerconfigjson"},
			skipped: []Skip{
				{"clearml/s3", []string{"accessKey", "secretKey"}, "ClearML's S3 credentials: the owner supplies accessKey, secretKey (from the S3 console), and no value was given"},
			},
			created: []string{"cvat/nuclio-registry"},
		},
		{
			name:  "an empty answer is no answer",
			ask:   ask(map[string]string{"clearml/s3/accessKey": "AKIAEXAMPLE", "clearml/s3/secretKey": "", "cvat/nuclio-registry/.dockerconfigjson": "tok-abcdef"}),
			asked: []string{"clearml/s3/accessKey", "clearml/s3/secretKey", "cvat/nuclio-registry/.dockerconfigjson"},
			skipped: []Skip{
				{"clearml/s3", []string{"secretKey"}, "ClearML's S3 credentials: the owner supplies secretKey (from the S3 console), and no value was given"},
			},
			created: []string{"cvat/nuclio-registry"},
		},
		{
			name:    "all given",
			ask:     ask(map[string]string{"clearml/s3/accessKey": "AKIAEXAMPLE", "clearml/s3/secretKey": "s3-secret-EXAMPLE", "cvat/nuclio-registry/.dockerconfigjson": "tok-abcdef"}),
			asked:   []string{"clearml/s3/accessKey", "clearml/s3/secretKey", "cvat/nuclio-registry/.dockerconfigjson"},
			created: []string{"clearml/s3", "cvat/nuclio-registry"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, ageRule)
			o := f.options()
			var asked []string
			if tc.ask != nil {
				o.Ask = func(s Secret, k Key) (string, bool) {
					asked = append(asked, s.ID()+"/"+k.Name)
					return tc.ask(s, k)
				}
			}
			res, err := Create([]Secret{registry, twoSupplied}, o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(asked, tc.asked) {
				t.Errorf("asked %v, want %v", asked, tc.asked)
			}
			var created, files []string
			for _, p := range res.Created {
				created = append(created, p.Secret)
				files = append(files, filepath.Base(p.File))
			}
			if !slices.Equal(created, tc.created) {
				t.Errorf("created %v, want %v", created, tc.created)
			}
			if fmt.Sprint(res.Skipped) != fmt.Sprint(tc.skipped) {
				t.Errorf("skipped\n%v\nwant\n%v", res.Skipped, tc.skipped)
			}
			assertOnlyFiles(t, f.dir, files...)
			for _, p := range res.Created {
				got := decryptSOPS(t, p.File, f.id)
				for k, v := range got.StringData {
					if want, _ := tc.ask(Secret{Namespace: got.Namespace, Name: got.Name}, Key{Name: k}); want != v && k != "region" && k != "username" {
						t.Errorf("%s: %s is not what the owner gave", p.Secret, k)
					}
				}
			}
			for _, v := range []string{"AKIAEXAMPLE", "s3-secret-EXAMPLE", "tok-abcdef"} {
				if strings.Contains(res.String(), v) {
					t.Errorf("the result's report holds a supplied value")
				}
			}
		})
	}
}

func TestCheckAndMerge(t *testing.T) {
	good := Secret{Namespace: "cvat", Name: "cvat-redis", Keys: []Key{{"password", Password{}}}}
	for _, tc := range []struct {
		name string
		want []Secret
		err  string
	}{
		{"bad namespace", []Secret{{Namespace: "CVAT", Name: "x", Keys: good.Keys}}, `Secret CVAT/x: namespace "CVAT": a lowercase RFC 1123 label`},
		{"bad name", []Secret{{Namespace: "cvat", Name: "x_y", Keys: good.Keys}}, `name "x_y": a lowercase RFC 1123 subdomain`},
		{"no key", []Secret{{Namespace: "cvat", Name: "x"}}, "Secret cvat/x: it has no key"},
		{"bad key", []Secret{{Namespace: "cvat", Name: "x", Keys: []Key{{"a/b", Password{}}}}}, `key "a/b": a valid config key`},
		{"key twice", []Secret{{Namespace: "cvat", Name: "x", Keys: []Key{{"a", Password{}}, {"a", Hex{}}}}}, `key "a" is listed twice`},
		{"no kind", []Secret{{Namespace: "cvat", Name: "x", Keys: []Key{{"a", nil}}}}, `key "a" has no Kind`},
		{"negative length", []Secret{{Namespace: "cvat", Name: "x", Keys: []Key{{"a", Password{Length: -1}}}}}, `Password length -1 is out of range`},
		{"empty literal", []Secret{{Namespace: "cvat", Name: "x", Keys: []Key{{"a", Literal("")}}}}, `an empty Literal`},
		{"conflicting twins", []Secret{good, {Namespace: "cvat", Name: "cvat-redis", Keys: []Key{{"password", Hex{}}}}},
			"Secret cvat/cvat-redis: key password is wanted as password of 32 letters and digits and as hex of 32 random bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := merge(tc.want)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
			f := newFixture(t, ageRule)
			if _, err := Create(tc.want, f.options()); err == nil {
				t.Error("Create: no error")
			}
			assertOnlyFiles(t, f.dir)
		})
	}

	// Two apps reading one Secret: merged, keys in first-seen order.
	got, err := merge([]Secret{
		{Namespace: "cvat", Name: "cvat-postgres", Keys: []Key{{"password", Password{}}}},
		{Namespace: "a", Name: "z", Keys: []Key{{"k", Hex{}}}},
		{Namespace: "cvat", Name: "cvat-postgres", Description: "the database", Keys: []Key{{"username", Literal("cvat")}, {"password", Password{}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID() != "a/z" || got[1].Description != "the database" ||
		len(got[1].Keys) != 2 || got[1].Keys[0].Name != "password" || got[1].Keys[1].Name != "username" {
		t.Errorf("merged %+v", got)
	}
}
