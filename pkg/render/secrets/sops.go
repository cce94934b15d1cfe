package secrets

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/stores"
	"github.com/getsops/sops/v3/version"
	"go.yaml.in/yaml/v3"
)

// SOPSConfigHelp tells the owner how to set up .sops.yaml so that Create
// can encrypt; a ConfigError is printed with it.
const SOPSConfigHelp = `render -secrets encrypts every Secret with SOPS to the age recipients of the
creation rule in .sops.yaml that matches the Secret's file: the nearest
.sops.yaml in the secrets folder's parents, up to the repository root. Set it
up once:

1. Make an age key pair; the private key stays out of git:

     mkdir -p ~/.config/sops/age
     age-keygen -o ~/.config/sops/age/keys.txt

   age-keygen prints the public key, age1...

2. Write .sops.yaml at the repository root, naming that public key:

     creation_rules:
       - path_regex: ^clusters/[^/]+/infrastructure/secrets/.*\.sops\.yaml$
         encrypted_regex: ^(data|stringData)$
         age: age1...

   path_regex is matched against the file's path relative to .sops.yaml;
   the first rule that matches applies. encrypted_regex keeps apiVersion,
   kind and metadata in the clear, which Flux's kustomize-controller needs;
   a rule without one gets this one. Several recipients are written
   comma-separated: age: age1...,age1...

3. Give Flux the private key, as Secret flux-system/sops-age with the key
   age.agekey (bootstrap/install.sh --age-key FILE does this):

     kubectl -n flux-system create secret generic sops-age \
       --from-file=age.agekey=$HOME/.config/sops/age/keys.txt

The sops CLI reads the same .sops.yaml: "sops edit FILE", run from the
repository root, opens a Secret with the private key.
`

// DefaultEncryptedRegex is what a creation rule that chooses no part to
// encrypt gets: the values of a Secret, never its apiVersion, kind and
// metadata, as Flux's SOPS guide asks. The sops CLI would encrypt every
// value instead, which kustomize-controller cannot apply.
const DefaultEncryptedRegex = `^(data|stringData)$`

// ConfigError is a .sops.yaml that is missing or that Create cannot use.
// Nothing is written when Create returns one; print SOPSConfigHelp with it.
type ConfigError struct {
	Config string // the .sops.yaml read, "" when none was found
	Reason string
}

// Error is the reason, naming the .sops.yaml; it holds no value.
func (e *ConfigError) Error() string { return e.Reason }

// configName is the only name sops looks up (it ignores .sops.yml, with a
// warning).
const configName = ".sops.yaml"

// findConfig returns the nearest .sops.yaml in dir or its parents, up to
// and including root, as the sops CLI finds it when run from dir.
func findConfig(dir, root string) (string, error) {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("the secrets folder %s is not inside the repository root %s", dir, root)
	}
	yml := "" // the nearest .sops.yml, which sops does not read
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, configName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if y := filepath.Join(d, ".sops.yml"); yml == "" {
			if _, err := os.Stat(y); err == nil {
				yml = y
			}
		}
		if d == root || d == filepath.Dir(d) {
			break
		}
	}
	reason := fmt.Sprintf("no %s in %s or above it up to %s: nothing says which age recipients the Secrets are encrypted to", configName, dir, root)
	if yml != "" {
		reason += fmt.Sprintf(" (sops reads no %s: rename it %s)", yml, configName)
	}
	return "", &ConfigError{Reason: reason}
}

// rule is what the creation rule for one file says: the metadata a new
// SOPS file starts with and the YAML store's indent.
type rule struct {
	config   string
	metadata sops.Metadata
	indent   int
}

// secretTree is the Secret as sops holds a plain YAML document, in the
// order kubectl prints one.
func secretTree(s Secret, values []string) sops.TreeBranch {
	data := make(sops.TreeBranch, len(s.Keys))
	for i, k := range s.Keys {
		data[i] = sops.TreeItem{Key: k.Name, Value: values[i]}
	}
	return sops.TreeBranch{
		{Key: "apiVersion", Value: "v1"},
		{Key: "kind", Value: "Secret"},
		{Key: "metadata", Value: sops.TreeBranch{
			{Key: "name", Value: s.Name},
			{Key: "namespace", Value: s.Namespace},
		}},
		{Key: "type", Value: s.secretType()},
		{Key: "stringData", Value: data},
	}
}

// checkRule encrypts s with placeholder values and a throwaway data key to
// see what the rule leaves in the clear, before any value exists: Flux
// needs apiVersion, kind and metadata plain, and every value must be
// encrypted.
func checkRule(s Secret, r *rule) error {
	placeholders := make([]string, len(s.Keys))
	for i := range placeholders {
		placeholders[i] = "placeholder"
	}
	tree := sops.Tree{Branches: sops.TreeBranches{secretTree(s, placeholders)}, Metadata: r.metadata}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	if _, err := tree.Encrypt(key, aes.NewCipher()); err != nil {
		return fmt.Errorf("sops could not encrypt %s: %v", s.ID(), err)
	}
	return checkEncrypted(s, tree.Branches[0], r)
}

// checkEncrypted refuses an encrypted Secret whose apiVersion, kind or
// metadata are encrypted, or whose values are not all encrypted.
func checkEncrypted(s Secret, b sops.TreeBranch, r *rule) error {
	refuse := func(format string, a ...any) error {
		return &ConfigError{Config: r.config, Reason: r.config + ": " + fmt.Sprintf(format, a...) +
			"; set the creation rule's encrypted_regex to " + DefaultEncryptedRegex + " (or drop it, which means the same here)"}
	}
	for _, item := range b {
		switch item.Key {
		case "apiVersion", "kind", "metadata":
			if encryptedAnywhere(item.Value) {
				return refuse("the creation rule for %s encrypts %s, which Flux's kustomize-controller needs in the clear", s.FileName(), item.Key)
			}
		case "stringData":
			for _, v := range item.Value.(sops.TreeBranch) {
				if !isEncrypted(v.Value) {
					return refuse("the creation rule for %s would leave stringData.%v in the clear", s.FileName(), v.Key)
				}
			}
		}
	}
	return nil
}

func isEncrypted(v any) bool {
	s, ok := v.(string)
	return ok && strings.HasPrefix(s, "ENC[AES256_GCM,")
}

func encryptedAnywhere(v any) bool {
	if b, ok := v.(sops.TreeBranch); ok {
		for _, item := range b {
			if encryptedAnywhere(item.Value) {
				return true
			}
		}
		return false
	}
	return isEncrypted(v)
}

// encrypt turns the Secret s with values (one per key, in order) into a
// SOPS YAML file, as "sops --encrypt" does: a fresh data key encrypted to
// every recipient of the rule, each value encrypted with AES-GCM, the MAC
// over the document. Errors never quote a value.
func encrypt(s Secret, values []string, file string, r *rule) ([]byte, error) {
	tree := sops.Tree{
		Branches: sops.TreeBranches{secretTree(s, values)},
		Metadata: r.metadata,
		FilePath: file,
	}
	tree.Metadata.Version = version.Version
	dataKey, errs := tree.GenerateDataKeyWithKeyServices([]keyservice.KeyServiceClient{keyservice.NewLocalClient()})
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: encrypting the data key to the age recipients: %w", s.ID(), errors.Join(errs...))
	}
	cipher := aes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		// sops's message may quote the value it failed on.
		return nil, fmt.Errorf("%s: sops could not encrypt the values", s.ID())
	}
	if err := checkEncrypted(s, tree.Branches[0], r); err != nil {
		return nil, err
	}
	tree.Metadata.LastModified = time.Now().UTC()
	tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, fmt.Errorf("%s: encrypting the MAC: %w", s.ID(), err)
	}
	out, err := emitYAML(tree, r.indent)
	if err != nil {
		return nil, fmt.Errorf("%s: printing the encrypted file: %w", s.ID(), err)
	}
	return out, nil
}

// emitYAML prints an encrypted tree with its sops metadata as sops's YAML
// store does (stores/yaml EmitEncryptedFile, for a tree without comments);
// importing that store would link sops/v3/config and, through it, cloud
// storage clients. A test holds the output to the store's, byte for byte.
func emitYAML(tree sops.Tree, indent int) ([]byte, error) {
	branches, err := stores.SerializeMetadata(tree, stores.MetadataOpts{Flatten: stores.MetadataFlattenNone})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(indent)
	for _, branch := range branches {
		doc := &yaml.Node{Kind: yaml.DocumentNode}
		m, err := yamlNode(branch)
		if err != nil {
			return nil, err
		}
		doc.Content = []*yaml.Node{m}
		if err := e.Encode(doc); err != nil {
			return nil, err
		}
	}
	if err := e.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// yamlNode is sops's treeValueToNode without comments.
func yamlNode(v any) (*yaml.Node, error) {
	switch v := v.(type) {
	case sops.TreeBranch:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for _, item := range v {
			if _, ok := item.Key.(sops.Comment); ok {
				return nil, fmt.Errorf("a comment in the tree")
			}
			k := &yaml.Node{}
			if err := k.Encode(item.Key); err != nil {
				return nil, err
			}
			val, err := yamlNode(item.Value)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, k, val)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for _, item := range v {
			if _, ok := item.(sops.Comment); ok {
				return nil, fmt.Errorf("a comment in the tree")
			}
			c, err := yamlNode(item)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	}
	n := &yaml.Node{}
	return n, n.Encode(v)
}
