package charts

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v4/pkg/registry"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"sigs.k8s.io/yaml"
)

// httpRepo is a Helm HTTP repository on loopback: an index.yaml and the
// archives it lists, replaceable while it runs (an upstream that
// republishes a version), counting the requests it answers.
type httpRepo struct {
	*httptest.Server
	mu       sync.Mutex
	archives map[string][]byte // file name -> archive
	requests atomic.Int32
}

func newHTTPRepo(t *testing.T) *httpRepo {
	t.Helper()
	h := &httpRepo{archives: map[string][]byte{}}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	return h
}

func (h *httpRepo) put(t *testing.T, archive []byte) {
	t.Helper()
	ch, err := LoadArchive(archive)
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.archives[ch.Metadata.Name+"-"+ch.Metadata.Version+".tgz"] = archive
}

func (h *httpRepo) serve(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.URL.Path == "/index.yaml" {
		idx := repo.NewIndexFile()
		for name, b := range h.archives {
			ch, err := LoadArchive(b)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			// Relative URLs, resolved against the repository, as
			// `helm repo index` writes them without --url.
			if err := idx.MustAdd(ch.Metadata, "charts/"+name, "", strings.TrimPrefix(ch.Digest, "sha256:")); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		idx.SortEntries()
		b, err := yaml.Marshal(idx)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(b)
		return
	}
	if b, ok := h.archives[strings.TrimPrefix(r.URL.Path, "/charts/")]; ok {
		w.Write(b)
		return
	}
	http.NotFound(w, r)
}

// ociRegistry is go-containerregistry's in-memory registry on loopback.
func ociRegistry(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return srv
}

// pushOCI pushes a chart with Helm's registry client, as `helm push` does,
// and returns the repository to pull it from.
func pushOCI(t *testing.T, srv *httptest.Server, archive []byte) string {
	t.Helper()
	ch, err := LoadArchive(archive)
	if err != nil {
		t.Fatal(err)
	}
	client, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "config.json")))
	if err != nil {
		t.Fatal(err)
	}
	repository := "oci://" + strings.TrimPrefix(srv.URL, "http://") + "/charts"
	if _, err := client.Push(archive, strings.TrimPrefix(repository, "oci://")+"/"+ch.Metadata.Name+":"+ch.Metadata.Version); err != nil {
		t.Fatal(err)
	}
	return repository
}

func openCache(t *testing.T) *Cache {
	t.Helper()
	c, err := OpenCache(filepath.Join(t.TempDir(), "charts"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sizeRE hides sizes and ports, which differ between runs.
var sizeRE = regexp.MustCompile(`\d+(\.\d)? (B|kB|MB)|127\.0\.0\.1:\d+`)

func TestFetchPullsAndCaches(t *testing.T) {
	web := newHTTPRepo(t)
	alpha := archiveChart(t, "alpha", "0.1.0", "alpha")
	web.put(t, alpha)
	web.put(t, archiveChart(t, "alpha", "0.2.0", "newer"))
	reg := ociRegistry(t)
	beta := archiveChart(t, "beta", "1.0.0+build.1", "beta")
	ociRepo := pushOCI(t, reg, beta)

	refs := []Ref{
		{Repository: web.URL + "/", Name: "alpha", Version: "0.1.0"},
		{Repository: ociRepo, Name: "beta", Version: "1.0.0+build.1"}, // a "+", which the tag spells "_"
	}
	c := openCache(t)
	sumsPath := filepath.Join(t.TempDir(), "charts.sum")
	sums, err := ReadSums(sumsPath)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	got, err := Fetch(context.Background(), c, sums, refs, &progress)
	if err != nil {
		t.Fatal(err)
	}
	want := map[Ref]string{refs[0]: Digest(alpha), refs[1]: Digest(beta)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("digests (-want +got):\n%s", diff)
	}
	wantProgress := "pulling alpha 0.1.0 from http://127.0.0.1:1 ... 1 B\n" +
		"pulling beta 1.0.0+build.1 from oci://127.0.0.1:1/charts ... 1 B\n"
	if diff := cmp.Diff(wantProgress, sizeRE.ReplaceAllStringFunc(progress.String(), func(s string) string {
		if strings.HasPrefix(s, "127") {
			return "127.0.0.1:1"
		}
		return "1 B"
	})); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}

	// The digests are recorded, one sorted line per chart.
	if err := sums.Write(sumsPath); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(sumsPath)
	wantSums := web.URL + " alpha 0.1.0 " + Digest(alpha) + "\n" + ociRepo + " beta 1.0.0+build.1 " + Digest(beta) + "\n"
	if string(b) != wantSums {
		t.Errorf("sums file:\n%s\nwant:\n%s", b, wantSums)
	}

	// The charts load from the cache and render.
	for _, ref := range refs {
		d, ok, err := c.Lookup(ref)
		if err != nil || !ok || d != got[ref] {
			t.Fatalf("Lookup(%s) = %s, %v, %v", ref, d, ok, err)
		}
		ch, err := c.Load(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Render(ch, release()); err != nil {
			t.Fatal(err)
		}
	}

	// No network: the servers are gone, and a second Fetch, with the sums
	// file read again, is served by the cache alone, silently.
	n := web.requests.Load()
	web.Close()
	reg.Close()
	sums, err = ReadSums(sumsPath)
	if err != nil {
		t.Fatal(err)
	}
	progress.Reset()
	again, err := Fetch(context.Background(), c, sums, refs, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("cached digests (-want +got):\n%s", diff)
	}
	if progress.Len() != 0 || sums.Changed() || web.requests.Load() != n {
		t.Errorf("a cache hit printed %q, changed the sums (%v) or asked the repository", progress.String(), sums.Changed())
	}
}

func TestFetchUpstreamChanged(t *testing.T) {
	web := newHTTPRepo(t)
	web.put(t, archiveChart(t, "alpha", "0.1.0", "first"))
	reg := ociRegistry(t)
	ociRepo := pushOCI(t, reg, archiveChart(t, "beta", "1.0.0", "first"))
	refs := []Ref{{Repository: web.URL, Name: "alpha", Version: "0.1.0"}, {Repository: ociRepo, Name: "beta", Version: "1.0.0"}}
	sums := NewSums()
	first, err := Fetch(context.Background(), openCache(t), sums, refs, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Both upstreams publish other bytes under the same versions; a
	// machine with an empty cache and the recorded sums pulls them.
	alpha2 := archiveChart(t, "alpha", "0.1.0", "second")
	web.put(t, alpha2)
	beta2 := archiveChart(t, "beta", "1.0.0", "second")
	pushOCI(t, reg, beta2)
	c := openCache(t)
	_, err = Fetch(context.Background(), c, sums, refs, nil)
	var mismatches []*DigestMismatchError
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var m *DigestMismatchError
		if errors.As(e, &m) {
			mismatches = append(mismatches, m)
		}
	}
	if len(mismatches) != 2 {
		t.Fatalf("want two mismatches, got %v", err)
	}
	for i, m := range mismatches {
		if m.Recorded != first[refs[i]] {
			t.Errorf("%s: recorded %s, want %s", m.Ref, m.Recorded, first[refs[i]])
		}
		msg := m.Error()
		if !strings.Contains(msg, "changed upstream") || !strings.Contains(msg, m.Recorded) || !strings.Contains(msg, m.Got) {
			t.Errorf("message does not name both digests: %s", msg)
		}
	}
	if mismatches[0].Got != Digest(alpha2) || mismatches[1].Got != Digest(beta2) {
		t.Errorf("got digests %s, %s", mismatches[0].Got, mismatches[1].Got)
	}
	// Nothing was cached for the refs, and the record is unchanged.
	for _, ref := range refs {
		if _, ok, _ := c.Lookup(ref); ok {
			t.Errorf("%s was cached despite the mismatch", ref)
		}
		if d, _ := sums.Get(ref); d != first[ref] {
			t.Errorf("%s: the record changed to %s", ref, d)
		}
	}
}

func TestFetchOfflineListsEveryMissingChart(t *testing.T) {
	web := newHTTPRepo(t)
	reg := ociRegistry(t)
	webURL, regHost := web.URL, strings.TrimPrefix(reg.URL, "http://")
	web.Close()
	reg.Close()
	refs := []Ref{
		{Repository: webURL, Name: "alpha", Version: "0.1.0"},
		{Repository: webURL, Name: "gamma", Version: "2.0.0"},
		{Repository: "oci://" + regHost + "/charts", Name: "beta", Version: "1.0.0"},
	}
	c := openCache(t)
	// One of them is in the cache: it is not reported.
	if _, err := c.Add(refs[1], archiveChart(t, "gamma", "2.0.0", "cached")); err != nil {
		t.Fatal(err)
	}
	got, err := Fetch(context.Background(), c, NewSums(), refs, io.Discard)
	var missing *MissingError
	if !errors.As(err, &missing) {
		t.Fatalf("err = %v, want a *MissingError", err)
	}
	if len(missing.Charts) != 2 || missing.Charts[0].Ref != refs[0] || missing.Charts[1].Ref != refs[2] {
		t.Fatalf("missing %+v", missing.Charts)
	}
	if _, ok := got[refs[1]]; !ok || len(got) != 1 {
		t.Errorf("the cached chart is still returned: %v", got)
	}
	msg := err.Error()
	for _, want := range []string{
		"2 charts are not in the chart cache and could not be pulled:\n",
		"  alpha 0.1.0 from " + webURL + ": ",
		"  beta 1.0.0 from oci://" + regHost + "/charts: ",
		"copy the archives into " + c.ImportDir() + ":\n",
		"  helm pull alpha --repo " + webURL + " --version 0.1.0\n",
		"  helm pull oci://" + regHost + "/charts/beta --version 1.0.0\n",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "gamma") {
		t.Errorf("the cached chart is reported missing:\n%s", msg)
	}
}

func TestImport(t *testing.T) {
	c := openCache(t)
	ref := Ref{Repository: "oci://registry.example/charts", Name: "alpha", Version: "0.1.0"}
	archive := archiveChart(t, "alpha", "0.1.0", "imported")
	p := filepath.Join(t.TempDir(), "alpha-0.1.0.tgz")
	if err := os.WriteFile(p, archive, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Import(c, ref, p)
	if err != nil || d != Digest(archive) {
		t.Fatalf("Import = %s, %v", d, err)
	}
	if got, ok, err := c.Lookup(ref); !ok || err != nil || got != d {
		t.Fatalf("Lookup = %s, %v, %v", got, ok, err)
	}
	// Fetch, offline, takes it from the cache and records it.
	sums := NewSums()
	if _, err := Fetch(context.Background(), c, sums, []Ref{ref}, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := sums.Get(ref); got != d {
		t.Errorf("sums record %q", got)
	}

	// An archive of another chart or version is refused.
	if _, err := Import(c, Ref{Repository: ref.Repository, Name: "alpha", Version: "0.2.0"}, p); err == nil ||
		!strings.Contains(err.Error(), "the archive is chart alpha 0.1.0, not alpha 0.2.0") {
		t.Errorf("wrong version: err = %v", err)
	}
	if _, err := Import(c, Ref{Repository: ref.Repository, Name: "beta", Version: "0.1.0"}, p); err == nil {
		t.Error("wrong name imported")
	}
	bad := filepath.Join(t.TempDir(), "bad.tgz")
	os.WriteFile(bad, []byte("not a chart"), 0o644)
	if _, err := Import(c, ref, bad); err == nil {
		t.Error("garbage imported")
	}
}

// An archive dropped into the import folder (helm pull -d) fills the cache
// on the next Fetch, without network, and is checked against the sums.
func TestFetchImportFolder(t *testing.T) {
	c := openCache(t)
	ref := Ref{Repository: "https://charts.invalid", Name: "alpha", Version: "0.1.0"}
	archive := archiveChart(t, "alpha", "0.1.0", "dropped")
	if err := os.WriteFile(filepath.Join(c.ImportDir(), "alpha-0.1.0.tgz"), archive, 0o644); err != nil {
		t.Fatal(err)
	}
	sums := NewSums()
	sums.Set(ref, Digest(archiveChart(t, "alpha", "0.1.0", "what the repository had")))
	_, err := Fetch(context.Background(), c, sums, []Ref{ref}, nil)
	var m *DigestMismatchError
	if !errors.As(err, &m) || !strings.Contains(m.Source, "import") {
		t.Fatalf("a dropped archive unlike the record: err = %v", err)
	}

	sums = NewSums()
	var progress bytes.Buffer
	got, err := Fetch(context.Background(), c, sums, []Ref{ref}, &progress)
	if err != nil || got[ref] != Digest(archive) {
		t.Fatalf("Fetch = %v, %v", got, err)
	}
	if !strings.HasPrefix(progress.String(), "importing alpha 0.1.0 from "+c.ImportDir()) {
		t.Errorf("progress %q", progress.String())
	}
}

func TestCacheLoadVerifiesDigest(t *testing.T) {
	c := openCache(t)
	ref := Ref{Repository: "https://charts.example", Name: "alpha", Version: "0.1.0"}
	d, err := c.Add(ref, archiveChart(t, "alpha", "0.1.0", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if ch, err := c.Load(d); err != nil || ch.Metadata.Name != "alpha" || ch.Digest != d {
		t.Fatalf("Load = %+v, %v", ch, err)
	}
	p, _ := c.blobPath(d)
	if err := os.WriteFile(p, archiveChart(t, "alpha", "0.1.0", "tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Load(d); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("a tampered blob loaded: %v", err)
	}
	for _, bad := range []string{"sha256:../../etc/passwd", "md5:abc", "sha256:" + strings.Repeat("A", 64)} {
		if _, err := c.Load(bad); err == nil {
			t.Errorf("Load(%q) did not fail", bad)
		}
	}
	// A trailing slash names the same repository.
	if got, ok, _ := c.Lookup(Ref{Repository: ref.Repository + "/", Name: "alpha", Version: "0.1.0"}); !ok || got != d {
		t.Errorf("Lookup with a trailing slash = %s, %v", got, ok)
	}
}

func TestSums(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "charts.sum")
	d1 := "sha256:" + strings.Repeat("a", 64)
	d2 := "sha256:" + strings.Repeat("b", 64)
	s, err := ReadSums(p)
	if err != nil || len(s.Refs()) != 0 {
		t.Fatalf("a missing file is an empty record: %v, %v", s, err)
	}
	s.Set(Ref{Repository: "oci://registry-1.docker.io/cvat", Name: "cvat", Version: "2.56.1"}, d2)
	s.Set(Ref{Repository: "https://metallb.github.io/metallb", Name: "metallb", Version: "0.15.3"}, d1)
	s.Set(Ref{Repository: "https://charts.longhorn.io/", Name: "longhorn", Version: "1.12.1"}, d1)
	if !s.Changed() {
		t.Error("Set did not mark the record changed")
	}
	if err := s.Write(p); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	want := "https://charts.longhorn.io longhorn 1.12.1 " + d1 + "\n" +
		"https://metallb.github.io/metallb metallb 0.15.3 " + d1 + "\n" +
		"oci://registry-1.docker.io/cvat cvat 2.56.1 " + d2 + "\n"
	if string(b) != want {
		t.Errorf("file:\n%s\nwant:\n%s", b, want)
	}
	s2, err := ReadSums(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s2.Bytes(), b) || s2.Changed() {
		t.Error("read and written differ")
	}
	gone := s2.Retain([]Ref{{Repository: "oci://registry-1.docker.io/cvat", Name: "cvat", Version: "2.56.1"}})
	if len(gone) != 2 || len(s2.Refs()) != 1 || !s2.Changed() {
		t.Errorf("Retain forgot %v, kept %v", gone, s2.Refs())
	}

	for name, content := range map[string]string{
		"fields":  "https://x a 1.0\n",
		"digest":  "https://x a 1.0 sha256:zz\n",
		"scheme":  "ftp://x a 1.0 " + d1 + "\n",
		"twice":   "https://x a 1.0 " + d1 + "\nhttps://x a 1.0 " + d2 + "\n",
		"version": "https://x a  " + d1 + "\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("# comment\n\n"+content), 0o644)
		line := ":3:"
		if name == "twice" {
			line = ":4:"
		}
		if _, err := ReadSums(p); err == nil || !strings.Contains(err.Error(), p+line) {
			t.Errorf("%s: err = %v, want one naming line %s", name, err, line)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 1234567: "1.2 MB", 35_100: "35.1 kB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
