package charts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Ref pins one chart: where it is published, its name and its exact version.
//
// Repository is either a Helm HTTP repository ("https://...", served with an
// index.yaml listing its charts) or an OCI registry path ("oci://host/path",
// the chart being the artifact <repository>/<name>:<version>). These are the
// two sources Flux reads a chart from: a HelmRepository (HTTP or type oci)
// and an OCIRepository.
type Ref struct {
	Repository string
	Name       string
	Version    string
}

// String names the chart as people read it: "cvat 2.56.1 from oci://registry-1.docker.io/cvat".
func (r Ref) String() string {
	return r.Name + " " + r.Version + " from " + r.Repository
}

// OCI reports whether the chart lives in an OCI registry.
func (r Ref) OCI() bool { return strings.HasPrefix(r.Repository, "oci://") }

// normal returns the ref with the repository's trailing slashes removed, so
// that "https://charts.example/" and "https://charts.example" are one chart
// in the cache and in the sums file.
func (r Ref) normal() Ref {
	r.Repository = strings.TrimRight(r.Repository, "/")
	return r
}

// validate checks a ref is usable as a key and as a line of the sums file:
// the fields are separated by spaces there, so none may contain one.
func (r Ref) validate() error {
	switch {
	case !strings.HasPrefix(r.Repository, "https://") && !strings.HasPrefix(r.Repository, "http://") && !r.OCI():
		return fmt.Errorf("chart %q: repository %q is neither https://, http:// nor oci://", r.Name, r.Repository)
	case r.Name == "" || strings.ContainsAny(r.Name, "/ \t\n:@"):
		return fmt.Errorf("chart from %s: name %q is empty or has a slash, colon, @ or space", r.Repository, r.Name)
	case r.Version == "" || strings.ContainsAny(r.Version, " \t\n"):
		return fmt.Errorf("chart %s from %s: version %q is empty or has a space", r.Name, r.Repository, r.Version)
	case strings.ContainsAny(r.Repository, " \t\n"):
		return fmt.Errorf("chart %s: repository %q has a space", r.Name, r.Repository)
	}
	return nil
}

// line is the ref as the sums file and the cache's ref files print it.
func (r Ref) line() string {
	return r.Repository + " " + r.Name + " " + r.Version
}

// key is the name of the ref's file under refs/: the SHA-256 of its line,
// so that any repository URL makes a safe, fixed-length file name.
func (r Ref) key() string {
	sum := sha256.Sum256([]byte(r.line()))
	return hex.EncodeToString(sum[:])
}

// sameVersion compares a ref's version with a chart's Chart.yaml version. A
// leading "v" is spelling, not version (charts and tags use both); anything
// else must match exactly, so "1.0" and "1.0.0" stay different pins.
func sameVersion(a, b string) bool {
	return strings.TrimPrefix(a, "v") == strings.TrimPrefix(b, "v")
}
