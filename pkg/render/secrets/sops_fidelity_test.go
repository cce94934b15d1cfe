package secrets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getsops/sops/v3/config"
	yamlstore "github.com/getsops/sops/v3/stores/yaml"
)

// The package reads .sops.yaml and prints files itself, so that the binary
// does not link sops's config package; these tests hold both to sops's own
// code (linked into the tests only).

func TestRuleReadingMatchesSops(t *testing.T) {
	a, b, c := newIdentity(t).Recipient().String(), newIdentity(t).Recipient().String(), newIdentity(t).Recipient().String()
	compared, refused := 0, 0
	defer func() {
		if compared < 20 || refused < 10 {
			t.Errorf("%d rules compared, %d refused by both: the table tests too little", compared, refused)
		}
	}()
	files := []string{
		"clusters/lab/infrastructure/secrets/cvat-cvat-postgres.sops.yaml",
		"clusters/lab/infrastructure/secrets/minio-minio-root.sops.yaml",
		"apps/x.sops.yaml",
		"other.yaml",
	}
	for i, conf := range []string{
		"creation_rules:\n  - age: " + a + "\n",
		"creation_rules:\n  - age: ' " + a + " , " + b + " ,'\n    encrypted_regex: ^stringData$\n",
		"creation_rules:\n  - age: [" + a + ", " + b + "]\n    mac_only_encrypted: true\n    unencrypted_suffix: _plain\n",
		"creation_rules:\n  - path_regex: ^clusters/[^/]+/infrastructure/secrets/cvat-\n    age: " + a + "\n  - path_regex: \\.sops\\.yaml$\n    age: " + b + "\n    unencrypted_regex: ^(apiVersion|kind|metadata)$\n",
		"creation_rules:\n  - path_regex: secrets/\n    age: " + c + "\n  - age: " + a + "\n",
		"creation_rules:\n  - path_regex: ^nothing/\n    age: " + a + "\n",
		"stores:\n  yaml:\n    indent: 2\ncreation_rules:\n  - shamir_threshold: 2\n    age: " + c + "\n    key_groups:\n      - age: [" + a + ", " + a + "]\n        merge:\n          - age: [" + b + "]\n      - age: ['" + c + "," + a + "']\n",
		"destination_rules:\n  - path_regex: x\n    s3_bucket: y\n",
		"creation_rules:\n  - path_regex: '('\n    age: " + a + "\n",
		"creation_rules:\n  - age: age1notakey\n",
		"creation_rules:\n  - age: [" + a + ", 3]\n",
		"creation_rules: [\n",
	} {
		root := t.TempDir()
		path := filepath.Join(root, ".sops.yaml")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			file := filepath.Join(root, filepath.FromSlash(f))
			t.Run(fmt.Sprintf("config %d %s", i, f), func(t *testing.T) {
				got, gotErr := loadRule(path, file)
				want, wantErr := config.LoadCreationRuleForFile(path, file, nil)
				if wantErr == nil && want == nil {
					wantErr = errors.New("no creation_rules: sops takes the file as no config")
				}
				if (gotErr != nil) != (wantErr != nil) {
					t.Fatalf("error %v, sops: %v\n%s", gotErr, wantErr, conf)
				}
				if gotErr != nil {
					refused++
					return
				}
				compared++
				stores, err := config.LoadStoresConfig(path)
				if err != nil {
					t.Fatal(err)
				}
				wantIndent := stores.YAML.Indent
				if wantIndent == 0 {
					wantIndent = yamlstore.IndentDefault
				}
				if want.UnencryptedSuffix+want.EncryptedSuffix+want.UnencryptedRegex+want.EncryptedRegex+want.UnencryptedCommentRegex+want.EncryptedCommentRegex == "" {
					want.EncryptedRegex = DefaultEncryptedRegex
				}
				g, w := got.metadata, want
				gotS := fmt.Sprint(groupsString(g.KeyGroups), g.ShamirThreshold, g.UnencryptedSuffix, g.EncryptedSuffix, g.UnencryptedRegex, g.EncryptedRegex, g.UnencryptedCommentRegex, g.EncryptedCommentRegex, g.MACOnlyEncrypted, got.indent)
				wantS := fmt.Sprint(groupsString(w.KeyGroups), w.ShamirThreshold, w.UnencryptedSuffix, w.EncryptedSuffix, w.UnencryptedRegex, w.EncryptedRegex, w.UnencryptedCommentRegex, w.EncryptedCommentRegex, w.MACOnlyEncrypted, wantIndent)
				if gotS != wantS {
					t.Errorf("rule\n%s\nsops\n%s", gotS, wantS)
				}
			})
		}
	}
}

func groupsString[G ~[]K, K interface{ ToString() string }](groups []G) string {
	var b strings.Builder
	for _, g := range groups {
		b.WriteString("[")
		for _, k := range g {
			b.WriteString(k.ToString() + " ")
		}
		b.WriteString("]")
	}
	return b.String()
}

func TestPrintingMatchesSopsYAMLStore(t *testing.T) {
	second := newIdentity(t).Recipient().String()
	for _, rules := range []string{
		ageRule,
		"stores:\n  yaml:\n    indent: 2\ncreation_rules:\n  - age: RECIPIENT\n    mac_only_encrypted: true\n",
		"stores:\n  yaml:\n    indent: 6\ncreation_rules:\n  - shamir_threshold: 2\n    key_groups:\n      - age: [RECIPIENT]\n      - age: [" + second + ", RECIPIENT]\n",
	} {
		f := newFixture(t, rules)
		o := f.options()
		o.Ask = ask(map[string]string{"cvat/nuclio-registry/.dockerconfigjson": "line one\nline two: with \"quotes\"\n"})
		if _, err := Create(lab, o); err != nil {
			t.Fatal(err)
		}
		indent := 4
		if i := strings.Index(rules, "indent: "); i >= 0 {
			fmt.Sscan(rules[i+len("indent: "):], &indent)
		}
		store := yamlstore.NewStore(&config.YAMLStoreConfig{Indent: indent})
		for _, s := range lab {
			raw, err := os.ReadFile(filepath.Join(f.dir, s.FileName()))
			if err != nil {
				t.Fatal(err)
			}
			tree, err := store.LoadEncryptedFile(raw)
			if err != nil {
				t.Fatal(err)
			}
			want, err := store.EmitEncryptedFile(tree)
			if err != nil {
				t.Fatal(err)
			}
			if string(raw) != string(want) {
				t.Errorf("%s printed\n%s\nsops's YAML store prints\n%s", s.ID(), raw, want)
			}
			got, err := emitYAML(tree, indent)
			if err != nil || string(got) != string(want) {
				t.Errorf("%s: emitYAML differs from the store (%v)", s.ID(), err)
			}
		}
	}
}
