package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yamlv2 "go.yaml.in/yaml/v2"
	sigsyaml "sigs.k8s.io/yaml"
)

// decoded is a YAML document as Marshal holds an object before printing:
// decoded from JSON, numbers as json.Number.
func decoded(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	j, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var u map[string]any
	if err := dec.Decode(&u); err != nil {
		t.Fatal(err)
	}
	return u
}

// samePrint checks that printYAML prints u as yaml.v2 does, or leaves it
// to yaml.v2; it reports whether printYAML printed it.
func samePrint(t *testing.T, what string, u map[string]any) bool {
	t.Helper()
	want, err := yamlv2.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	got, err := printYAML(u)
	if errors.Is(err, errUnusual) {
		return false
	}
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: printYAML differs from yaml.v2:\n--- printYAML\n%s\n--- yaml.v2\n%s", what, got, want)
	}
	return true
}

// TestPrintYAMLMatchesYAMLv2: every object of every rendered tree in the
// repository prints as yaml.v2 prints it.
func TestPrintYAMLMatchesYAMLv2(t *testing.T) {
	printed, files := 0, 0
	for _, root := range []string{"../../../clusters", "../testdata"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".sops.yaml") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, doc := range bytes.Split(b, []byte("\n---\n")) {
				u := decoded(t, doc)
				if _, ok := u["kind"]; !ok {
					continue
				}
				files++
				if samePrint(t, fmt.Sprintf("%s#%d", path, i), u) {
					printed++
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Nearly every object is printed by printYAML, not left to yaml.v2.
	if files < 100 || printed < files*9/10 {
		t.Errorf("printYAML printed %d of %d objects", printed, files)
	}
}

// TestPrintYAMLStrings: strings yaml.v2 quotes, folds or writes as
// blocks, at every depth, as values and as sequence items.
func TestPrintYAMLStrings(t *testing.T) {
	pieces := []string{"a", "Z", "0", "10.42.1.0/32", " ", "  ", "-", ":", ": ", "#", " #", "'", "\"", "\\", "\n", "\n\n", "\t",
		"é", "→", "yes", "No", "true", "null", "~", "1e3", "0x1F", "+1", ".5", "2001-12-14", "1:20", "<<", "*a", "&a", "!", "%", "@", "`",
		"[", "]", "{", "}", ",", "?", "|", ">", "word", "a longer phrase of several words to pass the width", "k8s.io/name"}
	r := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		return b.String()
	}
	var value func(depth int) any
	value = func(depth int) any {
		switch n := r.IntN(8); {
		case depth > 4 || n < 4:
			return str()
		case n == 4:
			return json.Number(fmt.Sprint(r.IntN(100000) - 50))
		case n == 5:
			var l []any
			for range r.IntN(4) {
				if r.IntN(3) == 0 {
					l = append(l, value(depth+1))
				} else {
					l = append(l, str())
				}
			}
			return l
		default:
			m := map[string]any{}
			for i := range r.IntN(5) {
				m[fmt.Sprintf("key%d-%s", i, []string{"a", "b10", "b9", "Ab", "x.y/z"}[r.IntN(5)])] = value(depth + 1)
			}
			return m
		}
	}
	printed := 0
	for i := range 3000 {
		u := map[string]any{"kind": "Test", "spec": value(0), "data": map[string]any{"text": str()}}
		if samePrint(t, fmt.Sprintf("case %d", i), u) {
			printed++
		}
	}
	if printed < 2500 {
		t.Errorf("printYAML printed %d of 3000 cases", printed)
	}
}

func TestCompareKeys(t *testing.T) {
	keys := []string{"b", "a10", "a9", "a09", "a1", "A", "a", "_a", "1", "10", "2", "a-b", "a.b", "a/b", "ab", "a0", "a00", "x1y2", "x1y10", "é"}
	m := map[string]any{}
	for _, k := range keys {
		m[k] = "v"
	}
	want, err := yamlv2.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	sorted := append([]string(nil), keys...)
	slicesSort(sorted)
	for _, k := range sorted {
		b, _ := yamlv2.Marshal(map[string]any{k: "v"})
		got.Write(b)
	}
	if got.String() != string(want) {
		t.Errorf("compareKeys orders\n%s\nyaml.v2 orders\n%s", got.String(), want)
	}
}

func slicesSort(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && compareKeys(s[j-1], s[j]) > 0; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
}
