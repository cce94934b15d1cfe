package charts

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// Sums is the repository's record of the charts it renders, a file like
// go.sum with one line per chart:
//
//	<repository> <name> <version> sha256:<hex>
//
// sorted. Committed beside the model, it makes a render reproducible on
// any machine (the same bytes or an error, never another chart) and makes
// a chart that changed upstream under the same version an error that names
// both digests, instead of a silent change in the rendered tree.
type Sums struct {
	path    string
	digests map[Ref]string
	changed bool
}

// NewSums returns an empty record, not yet tied to a file.
func NewSums() *Sums { return &Sums{digests: map[Ref]string{}} }

// ReadSums reads a sums file. A file that does not exist is an empty
// record: the first render of a repository creates it.
func ReadSums(path string) (*Sums, error) {
	s := NewSums()
	s.path = path
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("charts: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return nil, fmt.Errorf("%s:%d: want <repository> <name> <version> sha256:<hex>, have %q", path, n, line)
		}
		ref := Ref{Repository: f[0], Name: f[1], Version: f[2]}
		if err := ref.validate(); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if _, err := checkDigest(f[3]); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		ref = ref.normal()
		if d, ok := s.digests[ref]; ok && d != f[3] {
			return nil, fmt.Errorf("%s:%d: %s is recorded twice, as %s and %s", path, n, ref, d, f[3])
		}
		s.digests[ref] = f[3]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("charts: %s: %w", path, err)
	}
	return s, nil
}

// Path is the file the record was read from, "" for NewSums.
func (s *Sums) Path() string { return s.path }

// Get returns the digest recorded for ref.
func (s *Sums) Get(ref Ref) (digest string, ok bool) {
	digest, ok = s.digests[ref.normal()]
	return digest, ok
}

// Set records ref's digest.
func (s *Sums) Set(ref Ref, digest string) {
	ref = ref.normal()
	if s.digests[ref] != digest {
		s.digests[ref] = digest
		s.changed = true
	}
}

// Retain forgets every chart but refs (a version bump leaves the old
// version's line behind otherwise) and returns what it forgot, sorted.
func (s *Sums) Retain(refs []Ref) []Ref {
	keep := map[Ref]bool{}
	for _, r := range refs {
		keep[r.normal()] = true
	}
	var gone []Ref
	for r := range s.digests {
		if !keep[r] {
			gone = append(gone, r)
			delete(s.digests, r)
			s.changed = true
		}
	}
	slices.SortFunc(gone, func(a, b Ref) int { return strings.Compare(a.line(), b.line()) })
	return gone
}

// Refs returns the recorded charts, in the file's order.
func (s *Sums) Refs() []Ref {
	refs := make([]Ref, 0, len(s.digests))
	for r := range s.digests {
		refs = append(refs, r)
	}
	slices.SortFunc(refs, func(a, b Ref) int { return strings.Compare(a.line(), b.line()) })
	return refs
}

// Changed reports whether Set or Retain changed the record since it was read.
func (s *Sums) Changed() bool { return s.changed }

// Bytes returns the file's content: one sorted line per chart.
func (s *Sums) Bytes() []byte {
	var b bytes.Buffer
	for _, r := range s.Refs() {
		fmt.Fprintf(&b, "%s %s\n", r.line(), s.digests[r])
	}
	return b.Bytes()
}

// Write writes the record to path, atomically.
func (s *Sums) Write(path string) error {
	if err := writeAtomic(path, s.Bytes()); err != nil {
		return fmt.Errorf("charts: %w", err)
	}
	s.path = path
	s.changed = false
	return nil
}
