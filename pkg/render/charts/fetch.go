package charts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v4/pkg/registry"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"sigs.k8s.io/yaml"
)

// Fetch makes every chart of refs available in the cache and returns the
// digest of each. For each ref, in order:
//
//  1. the blob the sums file records, if the cache has it;
//  2. the blob the cache's ref file names, if the sums file records nothing
//     or records the same digest;
//  3. an archive in the cache's import folder named <name>-<version>.tgz
//     (what `helm pull` writes), put there by hand on a machine without
//     network access to the repository;
//  4. a pull from the repository: an HTTP repository through its
//     index.yaml, an OCI registry with Helm's registry client, as
//     `helm pull` does. Progress goes to progress (nil for none):
//     "pulling cvat 2.56.1 from oci://registry-1.docker.io/cvat ... 1.2 MB".
//
// A chart that reaches the cache (3, 4) is checked against the sums file:
// a different digest means the chart changed upstream under the same
// version, and is an error naming both digests (nothing is cached for the
// ref then). A new chart's digest is recorded in sums; the caller writes
// the file. Charts that are nowhere to be had are reported together in one
// *MissingError, which says how to fill the cache; the returned map then
// still holds every chart that was found. Any other problem (a sums
// mismatch, a chart that is not the one the ref names) is an error of its
// own, joined with the others.
//
// Fetch touches the network only for charts in neither the cache nor the
// import folder, so a render with a full cache works offline. A nil sums
// checks nothing and records nothing.
func Fetch(ctx context.Context, c *Cache, sums *Sums, refs []Ref, progress io.Writer) (map[Ref]string, error) {
	if progress == nil {
		progress = io.Discard
	}
	if sums == nil {
		sums = NewSums()
	}
	f := &fetcher{c: c, sums: sums, progress: progress, indexes: map[string]*repo.IndexFile{}, indexErrs: map[string]error{}}
	out := map[Ref]string{}
	var errs []error
	missing := &MissingError{ImportDir: c.ImportDir(), SumsPath: sums.Path()}
	for _, ref := range refs {
		key := ref
		ref = ref.normal()
		if err := ref.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		digest, err := f.one(ctx, ref)
		var m *missingChart
		switch {
		case errors.As(err, &m):
			missing.Charts = append(missing.Charts, Missing{Ref: ref, Err: m.err})
		case err != nil:
			errs = append(errs, err)
		default:
			out[key] = digest
		}
	}
	if len(missing.Charts) > 0 {
		errs = append(errs, missing)
	}
	return out, errors.Join(errs...)
}

type fetcher struct {
	c         *Cache
	sums      *Sums
	progress  io.Writer
	indexes   map[string]*repo.IndexFile // by repository, read once per Fetch
	indexErrs map[string]error
}

// missingChart marks a chart that could not be pulled (as opposed to one
// pulled and refused).
type missingChart struct{ err error }

func (m *missingChart) Error() string { return m.err.Error() }

func (f *fetcher) one(ctx context.Context, ref Ref) (string, error) {
	want, recorded := f.sums.Get(ref)
	if recorded && f.c.Has(want) {
		// The ref file may be missing or stale (a cache copied from
		// another machine); the sums file decides, so repair it.
		if got, ok, _ := f.c.Lookup(ref); !ok || got != want {
			if _, err := f.add(ref, want, nil); err != nil {
				return "", err
			}
		}
		return want, nil
	}
	got, ok, err := f.c.Lookup(ref)
	if err != nil {
		return "", err
	}
	if ok && (!recorded || got == want) {
		f.sums.Set(ref, got)
		return got, nil
	}
	// Not cached, or cached as another chart than the sums file records:
	// look for it again, and let the sums file judge what comes.
	archive, source, err := f.importFile(ref)
	if err != nil {
		return "", err
	}
	if archive == nil {
		if archive, err = f.pull(ctx, ref); err != nil {
			return "", &missingChart{err}
		}
		source = "the repository serves"
	}
	got = Digest(archive)
	if recorded && got != want {
		return "", &DigestMismatchError{Ref: ref, Recorded: want, Got: got, Source: source, SumsPath: f.sums.Path()}
	}
	return f.add(ref, got, archive)
}

// add stores archive (or, when nil, the blob already cached under digest)
// as ref's chart and records its digest.
func (f *fetcher) add(ref Ref, digest string, archive []byte) (string, error) {
	var got string
	var err error
	if archive == nil {
		// Loaded (and verified) once, not parsed again to rewrite ref's file.
		var ch *Chart
		if ch, err = f.c.Load(digest); err == nil {
			got, err = f.c.add(ref, ch)
		}
	} else {
		got, err = f.c.Add(ref, archive)
	}
	if err != nil {
		return "", err
	}
	f.sums.Set(ref, got)
	return got, nil
}

// importFile reads <import>/<name>-<version>.tgz if it is there.
func (f *fetcher) importFile(ref Ref) ([]byte, string, error) {
	p := filepath.Join(f.c.ImportDir(), ref.Name+"-"+ref.Version+".tgz")
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("charts: import: %w", err)
	}
	fmt.Fprintf(f.progress, "importing %s %s from %s\n", ref.Name, ref.Version, p)
	return b, p + " has", nil
}

func (f *fetcher) pull(ctx context.Context, ref Ref) ([]byte, error) {
	fmt.Fprintf(f.progress, "pulling %s ... ", ref)
	var b []byte
	var err error
	if ref.OCI() {
		b, err = pullOCI(ctx, ref)
	} else {
		b, err = f.pullHTTP(ctx, ref)
	}
	if err != nil {
		fmt.Fprintln(f.progress, "failed")
		return nil, err
	}
	fmt.Fprintln(f.progress, humanBytes(len(b)))
	return b, nil
}

// pullHTTP finds the chart in the repository's index.yaml and downloads
// the archive its entry points to, checking the entry's digest when the
// index has one. The version must be listed exactly: Helm's own lookup
// (IndexFile.Get) falls back to the closest version, which would quietly
// render another chart than the pin.
func (f *fetcher) pullHTTP(ctx context.Context, ref Ref) ([]byte, error) {
	idx, err := f.index(ctx, ref.Repository)
	if err != nil {
		return nil, err
	}
	var entry *repo.ChartVersion
	for _, v := range idx.Entries[ref.Name] {
		if v != nil && v.Metadata != nil && sameVersion(v.Version, ref.Version) {
			entry = v
			break
		}
	}
	if entry == nil {
		return nil, fmt.Errorf("%s/index.yaml lists no chart %s version %s", ref.Repository, ref.Name, ref.Version)
	}
	if len(entry.URLs) == 0 {
		return nil, fmt.Errorf("%s/index.yaml lists %s %s without a download URL", ref.Repository, ref.Name, ref.Version)
	}
	u, err := repo.ResolveReferenceURL(ref.Repository, entry.URLs[0])
	if err != nil {
		return nil, err
	}
	b, err := httpGet(ctx, u)
	if err != nil {
		return nil, err
	}
	if entry.Digest != "" && "sha256:"+entry.Digest != Digest(b) {
		return nil, fmt.Errorf("%s: the download hashes to %s, the index says sha256:%s", u, Digest(b), entry.Digest)
	}
	return b, nil
}

func (f *fetcher) index(ctx context.Context, repository string) (*repo.IndexFile, error) {
	if idx, ok := f.indexes[repository]; ok {
		return idx, nil
	}
	if err, ok := f.indexErrs[repository]; ok {
		return nil, err
	}
	idx, err := func() (*repo.IndexFile, error) {
		b, err := httpGet(ctx, repository+"/index.yaml")
		if err != nil {
			return nil, err
		}
		idx := &repo.IndexFile{}
		if err := yaml.Unmarshal(b, idx); err != nil {
			return nil, fmt.Errorf("%s/index.yaml: %w", repository, err)
		}
		return idx, nil
	}()
	if err != nil {
		f.indexErrs[repository] = err
		return nil, err
	}
	f.indexes[repository] = idx
	return idx, nil
}

// userAgent names us to repositories; some refuse Go's default.
const userAgent = "polylab-gitops-charts (helm.sh/helm/v4)"

func httpGet(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// pullOCI pulls <repository>/<name>:<version> with Helm's registry client,
// which finds credentials where `helm registry login` and docker put them
// and turns a "+" in the version into the "_" of the tag, as helm pull does.
// Registries on loopback are spoken to in plain HTTP (as docker does for
// localhost), every other one in HTTPS.
func pullOCI(ctx context.Context, ref Ref) ([]byte, error) {
	host := strings.TrimPrefix(ref.Repository, "oci://")
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	opts := []registry.ClientOption{
		// Our own client: Helm's default transport retries with backoff,
		// which turns "no network" into a long wait.
		registry.ClientOptHTTPClient(&http.Client{Transport: ctxTransport{ctx, base}}),
	}
	if loopback(host) {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	client, err := registry.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	res, err := client.Pull(strings.TrimPrefix(ref.Repository, "oci://")+"/"+ref.Name+":"+ref.Version, registry.PullOptWithChart(true))
	if err != nil {
		return nil, err
	}
	if d := Digest(res.Chart.Data); d != res.Chart.Digest {
		return nil, fmt.Errorf("%s: the chart layer hashes to %s, the manifest says %s", ref, d, res.Chart.Digest)
	}
	return res.Chart.Data, nil
}

// ctxTransport gives every request of Helm's registry client, which has no
// context of its own, the context of the Fetch, so cancelling it stops a pull.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(req.WithContext(t.ctx))
}

func loopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// humanBytes prints a size as docker and helm do, in SI units: "1.2 MB".
func humanBytes(n int) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := unit, 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGT"[exp])
}

// DigestMismatchError says a chart is not the one the sums file recorded:
// the repository (or an imported archive) has other bytes under the same
// name and version.
type DigestMismatchError struct {
	Ref Ref
	// Recorded is the digest in the sums file, Got the one found.
	Recorded, Got string
	// Source says where Got came from: "the repository serves", or
	// "<import file> has".
	Source string
	// SumsPath is the sums file, for the hint.
	SumsPath string
}

func (e *DigestMismatchError) Error() string {
	file := e.SumsPath
	if file == "" {
		file = "the sums file"
	}
	return fmt.Sprintf("%s: the chart changed upstream: %s records %s, but %s %s; "+
		"if the new chart is expected, review it and delete its line from %s to record it again",
		e.Ref, file, e.Recorded, e.Source, e.Got, file)
}

// Missing is a chart Fetch could not find or pull, and why.
type Missing struct {
	Ref Ref
	Err error
}

// MissingError lists every chart Fetch could neither find in the cache nor
// pull, and says how to fill the cache.
type MissingError struct {
	Charts    []Missing
	ImportDir string
	SumsPath  string
}

// Error says which charts are missing and how to fill the cache: pull
// them where the repositories can be reached, then copy the archives
// into ImportDir.
func (e *MissingError) Error() string {
	var b strings.Builder
	e.writeCharts(&b)
	fmt.Fprintf(&b, "Run again where the repositories can be reached, or pull the charts on a machine that reaches them and copy the archives into %s:\n", e.ImportDir)
	e.writePulls(&b)
	b.WriteString("and run again here")
	if e.SumsPath != "" {
		fmt.Fprintf(&b, " (imported charts are checked against %s)", e.SumsPath)
	}
	return b.String()
}

// Explain is Error for a person at a command line: the same charts and
// pulls, then importCommand (such as go run ./cmd/render -charts) with an
// -import flag for each archive helm pull writes.
func (e *MissingError) Explain(importCommand string) string {
	var b strings.Builder
	e.writeCharts(&b)
	b.WriteString("Run again where the repositories can be reached, or pull each chart where they can and import it here:\n")
	e.writePulls(&b)
	var files []string
	for _, m := range e.Charts {
		files = append(files, "-import "+m.Ref.Name+"-"+strings.TrimPrefix(m.Ref.Version, "v")+".tgz")
	}
	fmt.Fprintf(&b, "  %s %s\n", importCommand, strings.Join(files, " "))
	fmt.Fprintf(&b, "(or copy the archives into %s). Imported charts are checked against %s.\n", e.ImportDir, cmp.Or(e.SumsPath, "charts.sum"))
	return b.String()
}

// writeCharts counts the missing charts and gives each one's reason.
func (e *MissingError) writeCharts(b *strings.Builder) {
	n := "1 chart is"
	if len(e.Charts) != 1 {
		n = fmt.Sprintf("%d charts are", len(e.Charts))
	}
	fmt.Fprintf(b, "%s not in the chart cache and could not be pulled:\n", n)
	for _, m := range e.Charts {
		fmt.Fprintf(b, "  %s: %v\n", m.Ref, m.Err)
		if v, ok := strings.CutPrefix(m.Ref.Version, "v"); ok && m.Ref.OCI() {
			fmt.Fprintf(b, "    (helm push tags an OCI chart with the version of its Chart.yaml, which rarely starts with v: is the tag %s?)\n", v)
		}
	}
}

// writePulls is the helm pull command of each missing chart.
func (e *MissingError) writePulls(b *strings.Builder) {
	for _, m := range e.Charts {
		r := m.Ref
		if r.OCI() {
			fmt.Fprintf(b, "  helm pull %s/%s --version %s\n", r.Repository, r.Name, r.Version)
		} else {
			fmt.Fprintf(b, "  helm pull %s --repo %s --version %s\n", r.Name, r.Repository, r.Version)
		}
	}
}
