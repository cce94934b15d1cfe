package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"testing"

	"filippo.io/age"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/decrypt"
	"github.com/polylab/polylab-gitops/internal/scripttest"
	"github.com/rogpeppe/go-internal/testscript"
	"sigs.k8s.io/yaml"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"render-secrets": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScript runs the txtar scripts in testdata/script: each shows a
// user's command and its exact output. Every script starts with the
// repository's cue/cue.mod and cue/schema (scripttest.Params).
func TestScript(t *testing.T) {
	p := scripttest.Params(nil)
	p.Cmds = map[string]func(*testscript.TestScript, bool, []string){"sops-setup": sopsSetup, "sops-keys": sopsKeys}
	testscript.Run(t, p)
}

// sopsSetup makes a throwaway age key for a script: the private key in
// the file named by its argument, outside the repository, and .sops.yaml
// naming its public key for the secrets folders, as the README says.
func sopsSetup(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sops-setup KEYFILE")
	}
	id, err := age.GenerateX25519Identity()
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(id.String()+"\n"), 0o600))
	config := "creation_rules:\n  - path_regex: ^clusters/[^/]+/infrastructure/secrets/.*\\.sops\\.yaml$\n" +
		"    encrypted_regex: ^(data|stringData)$\n    age: " + id.Recipient().String() + "\n"
	ts.Check(os.WriteFile(ts.MkAbs(".sops.yaml"), []byte(config), 0o644))
}

// sopsKeys prints, for each SOPS-encrypted Secret file named, its
// namespace, name and the keys it holds once decrypted with the key in
// KEYFILE, and each value's length: what render -secrets made, never a value.
func sopsKeys(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: sops-keys KEYFILE FILE...")
	}
	key, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	// sops reads age identities from SOPS_AGE_KEY, as kustomize-controller
	// hands them over; the commands of a script run in this process.
	ts.Check(os.Setenv("SOPS_AGE_KEY", string(key)))
	defer os.Unsetenv("SOPS_AGE_KEY")
	for _, file := range args[1:] {
		b, err := os.ReadFile(ts.MkAbs(file))
		ts.Check(err)
		clear, err := decrypt.DataWithFormat(b, formats.Yaml)
		ts.Check(err)
		var s struct {
			Metadata   struct{ Namespace, Name string }
			StringData map[string]string `json:"stringData"`
		}
		ts.Check(yaml.Unmarshal(clear, &s))
		fmt.Fprintf(ts.Stdout(), "%s: Secret %s/%s\n", file, s.Metadata.Namespace, s.Metadata.Name)
		for _, k := range slices.Sorted(maps.Keys(s.StringData)) {
			fmt.Fprintf(ts.Stdout(), "  %s: %d characters\n", k, len(s.StringData[k]))
		}
	}
}
