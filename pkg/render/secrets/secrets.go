// Package secrets creates the Secrets a cluster's apps read and the owner
// has not committed yet: it makes their values, encrypts each Secret with
// SOPS to the age recipients .sops.yaml names for its file, and writes it
// into the secrets folder that Flux's kustomize-controller decrypts and
// applies.
//
// A value is never written in the clear: not to disk (files hold only
// ciphertext, temporary files included), not to a message, an error or the
// Result. Secrets the folder already holds are never touched, so a second
// run creates nothing.
//
// Encryption uses sops's own packages (github.com/getsops/sops/v3) as the
// sops CLI does for "sops --encrypt": the data key is encrypted to each age
// recipient through sops's local key service, the values with sops's
// AES-GCM cipher, the MAC over the tree. The creation rule is chosen and
// the file printed as sops's config loader and YAML store do, by code of
// this package that tests hold to theirs: importing those two packages
// would link cloud storage clients for nothing. The one difference from
// the CLI: a rule that names no encrypted_regex (or any other choice of
// what to encrypt) gets DefaultEncryptedRegex, because kustomize-controller
// needs apiVersion, kind and metadata in the clear.
package secrets

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Key is one key of a Secret and how its value is made.
type Key struct {
	Name string
	Kind Kind
}

// Secret is a v1 Secret an app reads.
type Secret struct {
	Namespace, Name string
	Keys            []Key
	// Description says what the Secret is for; it is shown when the owner
	// is asked for a value and when the Secret is skipped.
	Description string
	// Type is the Secret's type; empty means Opaque.
	Type string
}

// secretType is the Secret's type as written: Type, or Opaque.
func (s Secret) secretType() string { return cmp.Or(s.Type, "Opaque") }

// ID is "<namespace>/<name>", how messages and Result name the Secret.
func (s Secret) ID() string { return s.Namespace + "/" + s.Name }

// FileName is the name of the file Create writes the Secret to:
// "<namespace>-<name>.sops.yaml".
func (s Secret) FileName() string { return FileName(s.Namespace, s.Name) }

// FileName is the name of the file that holds the Secret namespace/name:
// "<namespace>-<name>.sops.yaml".
func FileName(namespace, name string) string { return namespace + "-" + name + ".sops.yaml" }

// Options tell Create where to write and how to make values.
type Options struct {
	// Dir is the secrets folder, e.g.
	// clusters/polylab/infrastructure/secrets. It must exist.
	Dir string
	// RepoRoot is the repository root. .sops.yaml is the nearest one in Dir
	// or its parents up to RepoRoot, which is the one the sops CLI finds
	// when run in Dir (it looks from the directory it runs in upwards, so
	// the owner's "sops edit" from the repository root agrees when the
	// only .sops.yaml is at the root). Its path_regex are matched against
	// the file's path relative to the folder of .sops.yaml, as sops does.
	// Empty means the current directory.
	RepoRoot string
	// Ask asks the owner for the value of a Supplied key. Returning false
	// (or an empty value), or a nil Ask, skips the whole Secret: Result
	// names it and the keys it lacks, and nothing of it is written. Ask is
	// called only after .sops.yaml was found usable.
	Ask func(s Secret, k Key) (value string, ok bool)
	// Rand is where generated values come from; nil means crypto/rand.
	// Tests may pass a deterministic reader to check the structure of
	// values, never to commit the result. The SOPS data key and the
	// ciphers' nonces always come from crypto/rand.
	Rand io.Reader
}

// Placed is a Secret and the file holding it.
type Placed struct {
	Secret string // "<namespace>/<name>"
	File   string // the file's path: Options.Dir joined with its name
}

// Skip is a wanted Secret that Create did not write.
type Skip struct {
	Secret  string   // "<namespace>/<name>"
	Missing []string // the keys without a value, if that is why
	Why     string
}

// Incomplete is a Secret the folder holds without some keys the apps read.
// Create leaves it as it is: add the keys with "sops edit FILE".
type Incomplete struct {
	Placed
	Missing []string
}

// Result is what Create did, each list in the order of the Secrets' IDs.
type Result struct {
	Created    []Placed     // written now
	Existing   []Placed     // already in the folder, untouched
	Incomplete []Incomplete // in the folder, lacking keys (also in Existing)
	Skipped    []Skip       // not written, and why
}

// Changed says whether Create wrote anything.
func (r Result) Changed() bool { return len(r.Created) > 0 }

// String reports the result for the owner, one line each, then a summary;
// it holds no value.
func (r Result) String() string {
	var b strings.Builder
	for _, p := range r.Created {
		fmt.Fprintf(&b, "created %s in %s\n", p.Secret, p.File)
	}
	for _, i := range r.Incomplete {
		fmt.Fprintf(&b, "incomplete %s in %s: lacks %s; add them with: sops edit %s\n",
			i.Secret, i.File, strings.Join(i.Missing, ", "), i.File)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "skipped %s: %s\n", s.Secret, s.Why)
	}
	if !r.Changed() {
		fmt.Fprintf(&b, "secrets: nothing created; %d exist, %d skipped\n", len(r.Existing), len(r.Skipped))
	} else {
		fmt.Fprintf(&b, "secrets: %d created, %d exist, %d skipped\n", len(r.Created), len(r.Existing), len(r.Skipped))
	}
	return b.String()
}

// Create writes every Secret of want that Options.Dir does not hold yet,
// SOPS-encrypted, as Dir/<namespace>-<name>.sops.yaml with mode 0600. A
// Secret is held when a YAML file anywhere in Dir has a v1 Secret with its
// namespace and name, whatever the file's name (see Existing). Secrets
// listed twice in want are merged when they agree on every key they share.
//
// Before anything is asked or written, Create checks want, reads the
// folder and loads the creation rule of .sops.yaml for each file to write;
// a problem there returns an error and writes nothing, a *ConfigError when
// .sops.yaml is the problem. An error while writing returns what was
// written before it with the error.
func Create(want []Secret, o Options) (Result, error) {
	var res Result
	secrets, err := merge(want)
	if err != nil {
		return res, err
	}
	if st, err := os.Stat(o.Dir); err != nil || !st.IsDir() {
		return res, fmt.Errorf("the secrets folder %s does not exist: render the cluster first", o.Dir)
	}
	held, err := scan(o.Dir)
	if err != nil {
		return res, err
	}
	var todo []Secret
	for _, s := range secrets {
		h, ok := held[s.ID()]
		if !ok {
			todo = append(todo, s)
			continue
		}
		p := Placed{Secret: s.ID(), File: h.file}
		res.Existing = append(res.Existing, p)
		var missing []string
		for _, k := range s.Keys {
			if !slices.Contains(h.keys, k.Name) {
				missing = append(missing, k.Name)
			}
		}
		if len(missing) > 0 {
			res.Incomplete = append(res.Incomplete, Incomplete{Placed: p, Missing: missing})
		}
	}
	if len(todo) == 0 {
		return res, nil
	}

	root, err := filepath.Abs(cmp.Or(o.RepoRoot, "."))
	if err != nil {
		return res, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return res, err
	}
	conf, err := findConfig(dir, root)
	if err != nil {
		return res, err
	}
	if filepath.Dir(conf) == dir || strings.HasPrefix(conf, dir+string(filepath.Separator)) {
		return res, &ConfigError{Config: conf, Reason: conf + " is inside the secrets folder, where Flux's kustomize-controller reads every .yaml file as a Kubernetes object; move it to the repository root"}
	}
	sf, err := readConfig(conf)
	if err != nil {
		return res, err
	}
	rules := make([]*rule, len(todo))
	for i, s := range todo {
		if rules[i], err = sf.rule(filepath.Join(dir, s.FileName())); err != nil {
			return res, err
		}
		if err := checkRule(s, rules[i]); err != nil {
			return res, err
		}
	}

	r := o.Rand
	if r == nil {
		r = rand.Reader
	}
	for i, s := range todo {
		p := Placed{Secret: s.ID(), File: filepath.Join(o.Dir, s.FileName())}
		if _, err := os.Lstat(p.File); err == nil {
			res.Skipped = append(res.Skipped, Skip{Secret: s.ID(),
				Why: fmt.Sprintf("%s exists and holds no Secret %s; rename that file or this Secret", p.File, s.ID())})
			continue
		}
		values, skip, err := valuesOf(s, r, o.Ask)
		if err != nil {
			return res, err
		}
		if skip != nil {
			res.Skipped = append(res.Skipped, *skip)
			continue
		}
		out, err := encrypt(s, values, filepath.Join(dir, s.FileName()), rules[i])
		if err != nil {
			return res, err
		}
		if err := writeNew(p.File, out); err != nil {
			return res, fmt.Errorf("%s: %w", s.ID(), err)
		}
		res.Created = append(res.Created, p)
	}
	return res, nil
}

// valuesOf makes the values of s, one per key: generated, literal, or asked
// of the owner. It returns a Skip when the owner supplies none: then
// nothing is generated.
func valuesOf(s Secret, r io.Reader, ask func(Secret, Key) (string, bool)) ([]string, *Skip, error) {
	values := make([]string, len(s.Keys))
	var missing, described []string
	for i, k := range s.Keys {
		sup, ok := k.Kind.(Supplied)
		if !ok {
			continue
		}
		if ask != nil && len(missing) == 0 {
			if v, ok := ask(s, k); ok && v != "" {
				values[i] = v
				continue
			}
		}
		missing = append(missing, k.Name)
		if sup.Hint != "" {
			described = append(described, k.Name+" ("+sup.Hint+")")
		} else {
			described = append(described, k.Name)
		}
	}
	if len(missing) > 0 {
		why := "the owner supplies " + strings.Join(described, ", ") + ", and no value was given"
		if s.Description != "" {
			why = s.Description + ": " + why
		}
		return nil, &Skip{Secret: s.ID(), Missing: missing, Why: why}, nil
	}
	for i, k := range s.Keys {
		if _, ok := k.Kind.(Supplied); ok {
			continue
		}
		v, err := generate(k.Kind, r)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: key %s: %w", s.ID(), k.Name, err)
		}
		values[i] = v
	}
	return values, nil, nil
}

// merge checks every Secret of want and merges those listed more than once,
// returning them sorted by ID.
func merge(want []Secret) ([]Secret, error) {
	var errs []error
	byID := map[string]*Secret{}
	for _, s := range want {
		if err := check(s); err != nil {
			errs = append(errs, err)
			continue
		}
		m, ok := byID[s.ID()]
		if !ok {
			c := s
			c.Keys = slices.Clone(s.Keys)
			byID[s.ID()] = &c
			continue
		}
		if m.Description == "" {
			m.Description = s.Description
		}
		for _, k := range s.Keys {
			j := slices.IndexFunc(m.Keys, func(x Key) bool { return x.Name == k.Name })
			switch {
			case j < 0:
				m.Keys = append(m.Keys, k)
			case m.Keys[j].Kind != k.Kind:
				errs = append(errs, fmt.Errorf("Secret %s: key %s is wanted as %v and as %v", s.ID(), k.Name, m.Keys[j].Kind, k.Kind))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make([]Secret, 0, len(byID))
	for _, s := range byID {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Secret) int { return strings.Compare(a.ID(), b.ID()) })
	return out, nil
}

// check refuses a Secret the API server would refuse, or that has no key.
func check(s Secret) error {
	var problems []string
	for _, p := range validation.IsDNS1123Label(s.Namespace) {
		problems = append(problems, "namespace "+fmt.Sprintf("%q", s.Namespace)+": "+p)
	}
	for _, p := range validation.IsDNS1123Subdomain(s.Name) {
		problems = append(problems, "name "+fmt.Sprintf("%q", s.Name)+": "+p)
	}
	if len(s.Keys) == 0 {
		problems = append(problems, "it has no key")
	}
	seen := map[string]bool{}
	for _, k := range s.Keys {
		for _, p := range validation.IsConfigMapKey(k.Name) {
			problems = append(problems, fmt.Sprintf("key %q: %s", k.Name, p))
		}
		if seen[k.Name] {
			problems = append(problems, fmt.Sprintf("key %q is listed twice", k.Name))
		}
		seen[k.Name] = true
		if k.Kind == nil {
			problems = append(problems, fmt.Sprintf("key %q has no Kind", k.Name))
		} else if err := k.Kind.check(); err != nil {
			problems = append(problems, fmt.Sprintf("key %q: %v", k.Name, err))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("Secret %s: %s", s.ID(), strings.Join(problems, "; "))
	}
	return nil
}
