package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Existing reports which Secrets the folder dir holds, as
// "<namespace>/<name>": every v1 Secret in every .yaml or .yml file in dir
// and its subfolders, which are the files kustomize-controller applies from
// a folder without kustomization.yaml. Only the plain parts of the files
// are read (apiVersion, kind, metadata, the key names); values stay
// encrypted, and a file's name does not matter.
func Existing(dir string) (map[string]bool, error) {
	held, err := scan(dir)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(held))
	for id := range held {
		out[id] = true
	}
	return out, nil
}

// held is a Secret found in the folder: its file and its key names.
type held struct {
	file string
	keys []string
}

// scan reads every Secret in dir, by "<namespace>/<name>".
func scan(dir string) (map[string]held, error) {
	out := map[string]held{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found, err := secretsIn(b)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, f := range found {
			if other, ok := out[f.id]; ok {
				return fmt.Errorf("%s and %s both hold Secret %s; kustomize-controller refuses the folder until one is removed", other.file, path, f.id)
			}
			out[f.id] = held{file: path, keys: f.keys}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type found struct {
	id   string
	keys []string
}

// secretsIn returns the v1 Secrets among the YAML documents of b. It reads
// nodes, not typed fields, so that no error can quote a value.
func secretsIn(b []byte) ([]found, error) {
	var out []found
	d := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc yaml.Node
		if err := d.Decode(&doc); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("not YAML: %w", err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		top := doc.Content[0]
		if scalar(field(top, "apiVersion")) != "v1" || scalar(field(top, "kind")) != "Secret" {
			continue
		}
		meta := field(top, "metadata")
		f := found{id: scalar(field(meta, "namespace")) + "/" + scalar(field(meta, "name"))}
		f.keys = append(keysOf(field(top, "data")), keysOf(field(top, "stringData"))...)
		slices.Sort(f.keys)
		out = append(out, f)
	}
}

// field returns the value of key in the mapping n, or nil.
func field(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func keysOf(n *yaml.Node) []string {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var keys []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys = append(keys, n.Content[i].Value)
	}
	return keys
}
