package secrets

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/getsops/sops/v3"
	sopsage "github.com/getsops/sops/v3/age"
	"go.yaml.in/yaml/v3"
)

// This file reads .sops.yaml as sops v3.13's config package does
// (config/config.go: loadConfigFile, parseCreationRuleForFile,
// getKeyGroupsFromCreationRule, extractMasterKeys) for the creation rules
// Create can follow: age recipients, at the rule or in key_groups, with
// shamir_threshold, the choice of what to encrypt, mac_only_encrypted and
// stores.yaml.indent. Importing that package instead would link
// sops/v3/publish (Google Cloud Storage, S3, Vault KV clients): 22 MB more
// in a binary for nothing Create does. A test holds this reading to
// config.LoadCreationRuleForFile's on the same files.

// sopsConfig is the part of .sops.yaml Create reads; sops ignores unknown
// fields, and so does this.
type sopsConfig struct {
	CreationRules []creationRule `yaml:"creation_rules"`
	Stores        struct {
		YAML struct {
			Indent int `yaml:"indent"`
		} `yaml:"yaml"`
	} `yaml:"stores"`
}

type creationRule struct {
	PathRegex               string     `yaml:"path_regex"`
	Age                     any        `yaml:"age"` // string or []string
	KeyGroups               []keyGroup `yaml:"key_groups"`
	ShamirThreshold         int        `yaml:"shamir_threshold"`
	UnencryptedSuffix       string     `yaml:"unencrypted_suffix"`
	EncryptedSuffix         string     `yaml:"encrypted_suffix"`
	UnencryptedRegex        string     `yaml:"unencrypted_regex"`
	EncryptedRegex          string     `yaml:"encrypted_regex"`
	UnencryptedCommentRegex string     `yaml:"unencrypted_comment_regex"`
	EncryptedCommentRegex   string     `yaml:"encrypted_comment_regex"`
	MACOnlyEncrypted        bool       `yaml:"mac_only_encrypted"`

	// Keys Create refuses to encrypt to.
	PGP           any `yaml:"pgp"`
	KMS           any `yaml:"kms"`
	GCPKMS        any `yaml:"gcp_kms"`
	AzureKeyVault any `yaml:"azure_keyvault"`
	VaultURI      any `yaml:"hc_vault_transit_uri"`
	HCKms         any `yaml:"hckms"`
}

type keyGroup struct {
	Merge []keyGroup `yaml:"merge"`
	Age   []string   `yaml:"age"`

	// Keys Create refuses to encrypt to.
	PGP     []any `yaml:"pgp"`
	KMS     []any `yaml:"kms"`
	GCPKMS  []any `yaml:"gcp_kms"`
	HCKms   []any `yaml:"hckms"`
	AzureKV []any `yaml:"azure_keyvault"`
	Vault   []any `yaml:"hc_vault"`
}

// keyField reads a rule's key field as sops's parseKeyField does: a
// comma-separated string or a list of strings.
func keyField(field any, name string) ([]string, error) {
	switch v := field.(type) {
	case nil:
		return nil, nil
	case string:
		var out []string
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				out = append(out, k)
			}
		}
		return out, nil
	case []any:
		out := make([]string, len(v))
		for i, item := range v {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("invalid %s key configuration: expected string in list, got %T", name, item)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("invalid %s key configuration: expected string, []string, or nil, got %T", name, field)
}

// foreignKeys names the first key of a kind other than age in a rule
// without key_groups, e.g. "pgp key FBC7...".
func (r *creationRule) foreignKeys() (string, error) {
	for _, f := range []struct {
		name, kind string
		value      any
	}{
		{"pgp", "pgp", r.PGP}, {"kms", "kms", r.KMS}, {"gcp_kms", "gcp_kms", r.GCPKMS},
		{"azure_keyvault", "azure_kv", r.AzureKeyVault}, {"hc_vault_transit_uri", "hc_vault", r.VaultURI}, {"hckms", "hckms", r.HCKms},
	} {
		keys, err := keyField(f.value, f.name)
		if err != nil {
			return "", err
		}
		if len(keys) > 0 {
			return f.kind + " key " + keys[0], nil
		}
	}
	return "", nil
}

// foreignKeys names the first key of a kind other than age in the group.
func (g *keyGroup) foreignKeys() string {
	for _, m := range g.Merge {
		if f := m.foreignKeys(); f != "" {
			return f
		}
	}
	for _, f := range []struct {
		kind string
		keys []any
	}{{"pgp", g.PGP}, {"kms", g.KMS}, {"gcp_kms", g.GCPKMS}, {"hckms", g.HCKms}, {"azure_kv", g.AzureKV}, {"hc_vault", g.Vault}} {
		if len(f.keys) > 0 {
			return fmt.Sprintf("%s key %v", f.kind, describeKey(f.keys[0]))
		}
	}
	return ""
}

// describeKey names a key of a key group: its string, or the first field
// that identifies it (arn, resource_id, key_id, vaultUrl).
func describeKey(k any) string {
	if m, ok := k.(map[string]any); ok {
		for _, f := range []string{"arn", "resource_id", "key_id", "vaultUrl"} {
			if v, ok := m[f]; ok {
				return fmt.Sprint(v)
			}
		}
	}
	return fmt.Sprint(k)
}

// ageKeys returns the age master keys of the group and its merged groups,
// without duplicates, as sops's extractMasterKeys does.
func (g *keyGroup) ageKeys() (sops.KeyGroup, error) {
	var out sops.KeyGroup
	for _, m := range g.Merge {
		keys, err := m.ageKeys()
		if err != nil {
			return nil, err
		}
		out = append(out, keys...)
	}
	for _, r := range g.Age {
		keys, err := sopsage.MasterKeysFromRecipients(r)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			out = append(out, k)
		}
	}
	seen := map[string]bool{}
	var dedup sops.KeyGroup
	for _, k := range out {
		if !seen[k.ToString()] {
			seen[k.ToString()] = true
			dedup = append(dedup, k)
		}
	}
	return dedup, nil
}

// sopsFile is a .sops.yaml read and parsed once, for the creation rule
// of every file Create writes.
type sopsFile struct {
	conf string
	dir  string // the absolute folder of conf
	c    sopsConfig
	res  []*regexp.Regexp // each rule's path_regex, compiled on first use
}

// refuse is a ConfigError about f naming it.
func (f *sopsFile) refuse(format string, a ...any) error {
	return &ConfigError{Config: f.conf, Reason: f.conf + ": " + fmt.Sprintf(format, a...)}
}

// readConfig reads and parses the .sops.yaml at conf, refusing one without
// creation rules or with a negative indent.
func readConfig(conf string) (*sopsFile, error) {
	f := &sopsFile{conf: conf}
	b, err := os.ReadFile(conf)
	if err != nil {
		return nil, f.refuse("%v", err)
	}
	if err := yaml.Unmarshal(b, &f.c); err != nil {
		return nil, f.refuse("%v", err)
	}
	if f.c.Stores.YAML.Indent < 0 {
		return nil, f.refuse("stores.yaml.indent is negative")
	}
	if f.c.CreationRules == nil {
		return nil, f.refuse("it has no creation_rules")
	}
	// sops matches path_regex against the file's path with the absolute
	// folder of .sops.yaml and a separator trimmed from its front.
	if f.dir, err = filepath.Abs(filepath.Dir(conf)); err != nil {
		return nil, err
	}
	f.res = make([]*regexp.Regexp, len(f.c.CreationRules))
	return f, nil
}

// loadRule reads the creation rule of .sops.yaml at conf that matches file
// (an absolute path), as sops does; see sopsFile.rule.
func loadRule(conf, file string) (*rule, error) {
	f, err := readConfig(conf)
	if err != nil {
		return nil, err
	}
	return f.rule(file)
}

// rule is the creation rule of f that matches file (an absolute path), as
// sops chooses it; it refuses a rule Create cannot follow: keys other than
// age recipients, no recipient Flux can decrypt with, or no rule at all.
// Each call makes fresh master keys: sops keeps a file's encrypted data key
// in them.
func (f *sopsFile) rule(file string) (*rule, error) {
	refuse, c := f.refuse, &f.c
	rel := strings.TrimPrefix(file, f.dir+string(filepath.Separator))
	var cr *creationRule
	for i := range c.CreationRules {
		r := &c.CreationRules[i]
		if r.PathRegex == "" {
			cr = r
			break
		}
		if f.res[i] == nil {
			re, err := regexp.Compile(r.PathRegex)
			if err != nil {
				return nil, refuse("can not compile regexp: %v", err)
			}
			f.res[i] = re
		}
		if f.res[i].MatchString(rel) {
			cr = r
			break
		}
	}
	if cr == nil {
		return nil, refuse("no creation rule's path_regex matches %s", filepath.ToSlash(rel))
	}

	choices := 0
	for _, s := range []string{cr.UnencryptedSuffix, cr.EncryptedSuffix, cr.UnencryptedRegex, cr.EncryptedRegex, cr.UnencryptedCommentRegex, cr.EncryptedCommentRegex} {
		if s != "" {
			choices++
		}
	}
	if choices > 1 {
		return nil, refuse("the creation rule for %s uses more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex and unencrypted_comment_regex; sops refuses that too", filepath.Base(file))
	}

	var groups []sops.KeyGroup
	foreign := ""
	if len(cr.KeyGroups) > 0 {
		for i := range cr.KeyGroups {
			if foreign = cr.KeyGroups[i].foreignKeys(); foreign != "" {
				break
			}
			g, err := cr.KeyGroups[i].ageKeys()
			if err != nil {
				return nil, refuse("%v", err)
			}
			groups = append(groups, g)
		}
	} else {
		var err error
		if foreign, err = cr.foreignKeys(); err != nil {
			return nil, refuse("%v", err)
		}
		recipients, err := keyField(cr.Age, "age")
		if err != nil {
			return nil, refuse("%v", err)
		}
		var g sops.KeyGroup
		if len(recipients) > 0 {
			keys, err := sopsage.MasterKeysFromRecipients(strings.Join(recipients, ","))
			if err != nil {
				return nil, refuse("%v", err)
			}
			for _, k := range keys {
				g = append(g, k)
			}
		}
		groups = []sops.KeyGroup{g}
	}
	if foreign != "" {
		return nil, refuse("the creation rule for %s names %s; render -secrets encrypts to age recipients only: drop that key from the rule, or create this Secret with the sops CLI",
			filepath.Base(file), foreign)
	}
	native := 0
	for _, g := range groups {
		for _, k := range g {
			r := k.(*sopsage.MasterKey).Recipient
			switch {
			case strings.HasPrefix(r, "age1pq1"):
				native++
			case strings.HasPrefix(r, "age1") && strings.Count(r, "1") > 1:
				return nil, refuse("the creation rule for %s names the age plugin recipient %s; render -secrets runs no plugin: use a native age recipient (age-keygen)", filepath.Base(file), r)
			case strings.HasPrefix(r, "age1"):
				native++
			}
		}
	}
	if native == 0 {
		return nil, refuse("the creation rule for %s names no age recipient (age1...) for Flux's kustomize-controller to decrypt with", filepath.Base(file))
	}

	m := sops.Metadata{
		KeyGroups:               groups,
		ShamirThreshold:         cr.ShamirThreshold,
		UnencryptedSuffix:       cr.UnencryptedSuffix,
		EncryptedSuffix:         cr.EncryptedSuffix,
		UnencryptedRegex:        cr.UnencryptedRegex,
		EncryptedRegex:          cr.EncryptedRegex,
		UnencryptedCommentRegex: cr.UnencryptedCommentRegex,
		EncryptedCommentRegex:   cr.EncryptedCommentRegex,
		MACOnlyEncrypted:        cr.MACOnlyEncrypted,
	}
	if choices == 0 {
		m.EncryptedRegex = DefaultEncryptedRegex
	}
	indent := cmp.Or(c.Stores.YAML.Indent, 4) // 4: sops's YAML store default
	return &rule{config: f.conf, metadata: m, indent: indent}, nil
}
