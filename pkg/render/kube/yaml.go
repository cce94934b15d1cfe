package kube

import (
	"cmp"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	yamlv2 "go.yaml.in/yaml/v2"
)

// printYAML prints an object decoded from JSON (maps with string keys,
// slices, strings, json.Number, booleans and nulls) byte for byte as
// yaml.v2 (go.yaml.in/yaml/v2 v2.4.4, what sigs.k8s.io/yaml and the
// rendered tree have always used) prints it, without yaml.v2's reflection
// and event pipeline, which took most of a render's printing time.
//
// yaml.v2's block style is simple where the renderer's objects live: a
// mapping is "key: value" lines, its keys sorted, a nested mapping
// indented by two, a sequence under a key not indented ("- item"), an
// empty one {} or []. What is not simple is how a string is written:
// plain, quoted, folded at column 80, or as a literal block. So every
// string that could not be written plain is written by yaml.v2 itself:
// on its own when the result cannot depend on where it stands, else (a
// long string that yaml.v2 folds, a multi-line one it writes as a block
// indented from its key) in a small document that puts it at the same
// indent and column. A value outside that (a float, a key that needs
// quotes) returns errUnusual, and Marshal asks yaml.v2 for the whole
// object. TestPrintYAMLMatchesYAMLv2 holds the two to the same bytes.
func printYAML(v map[string]any) ([]byte, error) {
	p := printer{}
	if err := p.mapping(v, 0, false); err != nil {
		return nil, err
	}
	return p.out, nil
}

// errUnusual says a value is not one printYAML prints itself.
var errUnusual = errors.New("kube: a value yaml.v2 must print")

// yamlWidth is the column past which yaml.v2 folds a string at a space
// (its emitter's best_width).
const yamlWidth = 80

type printer struct {
	out []byte
}

// mapping prints m's entries at indent; inline says the first one follows
// a sequence's "- " on the current line.
func (p *printer) mapping(m map[string]any, indent int, inline bool) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		if !plainString(k) {
			return errUnusual
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	for i, k := range keys {
		if i > 0 || !inline {
			p.indent(indent)
		}
		p.out = append(p.out, k...)
		p.out = append(p.out, ':')
		if err := p.value(m[k], indent, k); err != nil {
			return err
		}
	}
	return nil
}

// value prints the value of key, whose line starts at indent.
func (p *printer) value(v any, indent int, key string) error {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			p.out = append(p.out, " {}\n"...)
			return nil
		}
		p.out = append(p.out, '\n')
		return p.mapping(v, indent+2, false)
	case []any:
		if len(v) == 0 {
			p.out = append(p.out, " []\n"...)
			return nil
		}
		p.out = append(p.out, '\n')
		return p.sequence(v, indent)
	}
	p.out = append(p.out, ' ')
	// In context: "key: value" on the line after nest's indent/2 keys.
	return p.scalar(v, indent+len(key)+2, func(s any) (any, int) { return nest(indent, map[string]any{key: s}), indent / 2 })
}

// sequence prints the items of a sequence under a key at indent.
func (p *printer) sequence(items []any, indent int) error {
	for _, item := range items {
		p.indent(indent)
		p.out = append(p.out, "- "...)
		switch v := item.(type) {
		case map[string]any:
			if len(v) == 0 {
				p.out = append(p.out, "{}\n"...)
				continue
			}
			if err := p.mapping(v, indent+2, true); err != nil {
				return err
			}
		case []any:
			return errUnusual // a sequence in a sequence: not in our objects
		default:
			// In context: "- value" on the line after nest's keys and "x:".
			place := func(s any) (any, int) { return nest(indent, map[string]any{"x": []any{s}}), indent/2 + 1 }
			if err := p.scalar(v, indent+2, place); err != nil {
				return err
			}
		}
	}
	return nil
}

// scalar prints a scalar that starts at column col, and ends the line.
// place puts a value where this one stands, for yaml.v2 to print in
// context, and says on which line of that document it starts.
func (p *printer) scalar(v any, col int, place func(any) (any, int)) error {
	switch v := v.(type) {
	case nil:
		p.out = append(p.out, "null"...)
	case bool:
		p.out = strconv.AppendBool(p.out, v)
	case json.Number:
		n, err := v.Int64()
		if err != nil {
			return errUnusual
		}
		p.out = strconv.AppendInt(p.out, n, 10)
	case string:
		if plainString(v) {
			p.out = append(p.out, v...)
			break
		}
		text, err := yamlString(v, col, place)
		if err != nil {
			return err
		}
		p.out = append(p.out, text...)
	default:
		return errUnusual
	}
	p.out = append(p.out, '\n')
	return nil
}

func (p *printer) indent(n int) {
	for range n {
		p.out = append(p.out, ' ')
	}
}

// yamlString is how yaml.v2 writes s at column col: on its own, when
// that is one line ending by column 80 (then neither folding nor a
// block's indent applies), else as the value of a document that puts it
// at the same indent and column (place), cut from the line it starts on.
func yamlString(s string, col int, place func(any) (doc any, line int)) (string, error) {
	text, err := alone(s)
	if err != nil {
		return "", err
	}
	if !strings.Contains(text, "\n") && col+len(text) <= yamlWidth {
		return text, nil
	}
	doc, line := place(s)
	b, err := yamlv2.Marshal(doc)
	if err != nil {
		return "", err
	}
	lines := strings.SplitAfterN(string(b), "\n", line+1)
	if len(lines) != line+1 || len(lines[line]) < col {
		return "", errUnusual
	}
	return strings.TrimSuffix(lines[line][col:], "\n"), nil
}

// alone is how yaml.v2 writes s as a document of its own, remembered: the
// same strings (addresses, durations) recur across a cluster's objects.
// The memory is bounded, for a long-running caller rendering many clusters.
func alone(s string) (string, error) {
	aloneCache.Lock()
	text, ok := aloneCache.texts[s]
	aloneCache.Unlock()
	if ok {
		return text, nil
	}
	b, err := yamlv2.Marshal(s)
	if err != nil {
		return "", err
	}
	text = strings.TrimSuffix(string(b), "\n")
	aloneCache.Lock()
	if len(aloneCache.texts) < aloneCacheSize {
		aloneCache.texts[s] = text
	}
	aloneCache.Unlock()
	return text, nil
}

const aloneCacheSize = 1 << 16

var aloneCache = struct {
	sync.Mutex
	texts map[string]string
}{texts: map[string]string{}}

// nest puts v under indent/2 mappings of one key each, so that v's own
// keys stand at column indent, as where it is printed.
func nest(indent int, v any) any {
	for range indent / 2 {
		v = map[string]any{"x": v}
	}
	return v
}

// plainString reports whether yaml.v2 writes s as it is, and the same
// wherever it stands: a letter, then letters, digits and . / _ -, and no
// word that YAML 1.1 reads as a boolean or null.
func plainString(s string) bool {
	if s == "" || len(s) > 64 || !isASCIILetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isASCIILetter(c) && !('0' <= c && c <= '9') && c != '.' && c != '/' && c != '_' && c != '-' {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "on", "off", "true", "false", "null":
		return false
	}
	return true
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// compareKeys orders a mapping's keys as yaml.v2 does: by character, but
// a run of digits by the number it spells ("port2" before "port10"), and
// a letter after a digit or other character.
func compareKeys(a, b string) int {
	ar, br := []rune(a), []rune(b)
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			continue
		}
		al, bl := unicode.IsLetter(ar[i]), unicode.IsLetter(br[i])
		switch {
		case al && bl:
			return cmp.Compare(ar[i], br[i])
		case al:
			return 1
		case bl:
			return -1
		}
		// Digits or other characters: compare the runs of digits from
		// here as numbers. A run continuing non-zero digits before it
		// counts them (so that "10" and "1" differ there).
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(ar[j]); j-- {
				if ar[j] != '0' {
					an, bn = 1, 1
					break
				}
			}
		}
		ai, bi := i, i
		for ; ai < len(ar) && unicode.IsDigit(ar[ai]); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for ; bi < len(br) && unicode.IsDigit(br[bi]); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		switch {
		case an != bn:
			return cmp.Compare(an, bn)
		case ai != bi:
			return cmp.Compare(ai, bi)
		}
		return cmp.Compare(ar[i], br[i])
	}
	return cmp.Compare(len(ar), len(br))
}
