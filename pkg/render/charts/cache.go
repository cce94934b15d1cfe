package charts

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
)

// Cache is a content-addressed store of chart archives in a directory:
//
//	blobs/sha256/<hex>   a chart archive (.tgz), named by the SHA-256 of its bytes
//	refs/<key>           names the digest a Ref resolved to; <key> is the
//	                     SHA-256 of "<repository> <name> <version>", and the
//	                     file's second line repeats that ref for people
//	import/              archives put there by hand (helm pull -d), which
//	                     Fetch takes when it cannot pull (see MissingError)
//
// Blobs are immutable and verified on every Load, so a cache can be shared
// between checkouts and copied between machines; a ref file is only a hint
// of which blob a ref had, and the sums file (Sums) has the last word. All
// writes go to a temporary file renamed into place, so a crash or two
// processes filling the cache at once never leave a half-written file.
type Cache struct {
	// Dir is the cache's directory.
	Dir string
}

// DefaultDir is the cache directory of the user running the renderer:
// <os.UserCacheDir()>/polylab-gitops/charts, e.g. ~/.cache/polylab-gitops/charts.
func DefaultDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("charts: no cache directory: %w", err)
	}
	return filepath.Join(dir, "polylab-gitops", "charts"), nil
}

// OpenCache opens the cache in dir, creating its folders; an empty dir
// means DefaultDir.
func OpenCache(dir string) (*Cache, error) {
	if dir == "" {
		var err error
		if dir, err = DefaultDir(); err != nil {
			return nil, err
		}
	}
	for _, sub := range []string{"blobs/sha256", "refs", "import"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("charts: cache: %w", err)
		}
	}
	return &Cache{Dir: dir}, nil
}

// ImportDir is the folder where Fetch looks for archives a person pulled
// elsewhere, named as helm pull names them: <name>-<version>.tgz.
func (c *Cache) ImportDir() string { return filepath.Join(c.Dir, "import") }

// Digest returns the digest of an archive as the cache, the sums file and
// OCI registries name it: "sha256:<hex>". It is also the digest of the chart
// layer of an OCI chart, so a digest in the sums file can be checked
// against the registry's manifest.
func Digest(archive []byte) string {
	sum := sha256.Sum256(archive)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// checkDigest returns a digest's hex digits, refusing anything but
// "sha256:" and 64 lower-case hex digits (a digest read from a file must
// never become a path outside the cache).
func checkDigest(digest string) (string, error) {
	hexPart, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexPart) != sha256.Size*2 || strings.ToLower(hexPart) != hexPart {
		return "", fmt.Errorf("charts: %q is not a sha256:<64 hex digits> digest", digest)
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return "", fmt.Errorf("charts: %q is not a sha256:<64 hex digits> digest", digest)
	}
	return hexPart, nil
}

// blobPath returns where a digest's blob lives (checkDigest).
func (c *Cache) blobPath(digest string) (string, error) {
	hexPart, err := checkDigest(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(c.Dir, "blobs", "sha256", hexPart), nil
}

func (c *Cache) refPath(ref Ref) string {
	return filepath.Join(c.Dir, "refs", ref.normal().key())
}

// Has reports whether the cache holds the blob of a digest (unverified;
// Load verifies).
func (c *Cache) Has(digest string) bool {
	p, err := c.blobPath(digest)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// Lookup returns the digest the cache recorded for ref, if its blob is
// still there. A ref file that names a missing blob counts as a miss.
func (c *Cache) Lookup(ref Ref) (digest string, ok bool, err error) {
	ref = ref.normal()
	b, err := os.ReadFile(c.refPath(ref))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("charts: cache: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	// The second line guards against a file written for another ref (a
	// copied or hand-edited cache): it must name this very ref.
	if len(lines) < 2 || lines[1] != ref.line() {
		return "", false, fmt.Errorf("charts: cache: %s does not record %s; delete it and pull again", c.refPath(ref), ref)
	}
	digest = lines[0]
	if _, err := c.blobPath(digest); err != nil {
		return "", false, fmt.Errorf("charts: cache: %s: %w", c.refPath(ref), err)
	}
	if !c.Has(digest) {
		return "", false, nil
	}
	return digest, true, nil
}

// Load reads the archive of a digest from the cache, checks its bytes
// still hash to that digest and that Helm can load it.
func (c *Cache) Load(digest string) (*Chart, error) {
	p, err := c.blobPath(digest)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("charts: cache: %w", err)
	}
	if got := Digest(b); got != digest {
		return nil, fmt.Errorf("charts: cache: %s is corrupt: its bytes hash to %s; delete it and pull again", p, got)
	}
	return LoadArchive(b)
}

// Add stores a chart archive for ref and returns its digest. The archive
// must be a chart Helm can load whose Chart.yaml has ref's name and
// version: a cache that files a chart under another chart's ref would
// render the wrong thing without a word.
func (c *Cache) Add(ref Ref, archive []byte) (digest string, err error) {
	ref = ref.normal()
	if err := ref.validate(); err != nil {
		return "", err
	}
	ch, err := LoadArchive(archive)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ref, err)
	}
	return c.add(ref, ch)
}

// add stores a loaded chart for ref, a normal and valid one (see Add):
// its blob unless the cache holds it, and ref's file naming it.
func (c *Cache) add(ref Ref, ch *Chart) (digest string, err error) {
	if err := ch.matches(ref); err != nil {
		return "", err
	}
	digest = ch.Digest
	p, err := c.blobPath(digest)
	if err != nil {
		return "", err
	}
	if !c.Has(digest) {
		if err := writeAtomic(p, ch.archive); err != nil {
			return "", fmt.Errorf("charts: cache: %w", err)
		}
	}
	if err := writeAtomic(c.refPath(ref), []byte(digest+"\n"+ref.line()+"\n")); err != nil {
		return "", fmt.Errorf("charts: cache: %w", err)
	}
	return digest, nil
}

// Import adds a chart archive from a file, e.g. one made by
// `helm pull --version <version>` on a machine with network access, to the
// cache as the chart of ref, and returns its digest. Fetch still checks it
// against the sums file, so an import cannot replace a recorded chart.
func Import(c *Cache, ref Ref, archivePath string) (digest string, err error) {
	b, err := os.ReadFile(archivePath)
	if err != nil {
		return "", fmt.Errorf("charts: import: %w", err)
	}
	return c.Add(ref, b)
}

// ImportArchive adds a chart archive from a file, such as one helm pull
// wrote, to the cache as the chart a cluster's tree pins with its name
// and version (the cluster named in the error); it returns that chart and
// the archive's digest. An import cannot replace a chart sums records.
func ImportArchive(c *Cache, sums *Sums, t Tree, cluster, file string) (Ref, string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Ref{}, "", err
	}
	ch, err := LoadArchive(b)
	if err != nil {
		return Ref{}, "", err
	}
	installs, err := Installs(t)
	if err != nil {
		return Ref{}, "", err
	}
	var pinned []string
	for _, ref := range Refs(installs) {
		if ch.matches(ref) != nil {
			pinned = append(pinned, ref.Name+" "+ref.Version)
			continue
		}
		if want, ok := sums.Get(ref); ok && want != ch.Digest {
			return Ref{}, "", &DigestMismatchError{Ref: ref, Recorded: want, Got: ch.Digest, Source: file + " has", SumsPath: sums.Path()}
		}
		if err := ref.validate(); err != nil {
			return Ref{}, "", err
		}
		digest, err := c.add(ref, ch)
		return ref, digest, err
	}
	return Ref{}, "", fmt.Errorf("the archive is chart %s %s, which cluster %s does not pin; it pins %s", ch.Metadata.Name, ch.Metadata.Version, cluster, strings.Join(pinned, ", "))
}

// Chart is a chart archive the cache verified: its digest, what its
// Chart.yaml says, and the archive itself, from which Render loads a fresh
// Helm chart for every render (Helm's install mutates the chart it is given
// when it resolves subchart conditions; helm-controller, too, loads the
// chart anew from the artifact on every reconcile:
// internal/controller/helmrelease_controller.go, loader.SecureLoadChartFromURL).
type Chart struct {
	// Digest is "sha256:<hex>" of the archive.
	Digest string
	// Metadata is the chart's Chart.yaml.
	Metadata *helmchart.Metadata
	archive  []byte
}

// LoadArchive checks that archive is a chart Helm can load (API v1 or v2,
// the only chart APIs helm-controller v1.6 installs:
// internal/action/install.go, "only the Chart API v2 is supported") and
// returns it with its digest.
func LoadArchive(archive []byte) (*Chart, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		return nil, fmt.Errorf("not a Helm chart archive: %w", err)
	}
	if ch.Metadata == nil {
		return nil, errors.New("not a Helm chart archive: no Chart.yaml")
	}
	return &Chart{Digest: Digest(archive), Metadata: ch.Metadata, archive: archive}, nil
}

// Archive returns the chart's archive bytes (not a copy: do not modify).
func (ch *Chart) Archive() []byte { return ch.archive }

// helm loads a fresh Helm chart from the archive.
func (ch *Chart) helm() (*helmchart.Chart, error) {
	return loader.LoadArchive(bytes.NewReader(ch.archive))
}

// matches checks the chart is the one ref names.
func (ch *Chart) matches(ref Ref) error {
	if ch.Metadata.Name != ref.Name || !sameVersion(ch.Metadata.Version, ref.Version) {
		return fmt.Errorf("%s: the archive is chart %s %s, not %s %s", ref, ch.Metadata.Name, ch.Metadata.Version, ref.Name, ref.Version)
	}
	return nil
}

// writeAtomic writes a file through a temporary file in the same folder and
// a rename, so readers see the old file or the new one, never a part.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
