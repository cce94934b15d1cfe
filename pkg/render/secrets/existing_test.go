package secrets

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const twoDocs = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: cvat
---
# a Secret in a file of any name
apiVersion: v1
kind: Secret
metadata:
  name: cvat-redis
  namespace: cvat
data:
  password: c2VjcmV0
`

func TestExisting(t *testing.T) {
	f := newFixture(t, ageRule)
	got, err := Existing(f.dir)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty folder: %v, %v", got, err)
	}

	// An encrypted file, moved to a subfolder under another name: found by
	// what it holds.
	if _, err := Create([]Secret{minio}, f.options()); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(f.dir, "minio"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(f.dir, minio.FileName()), filepath.Join(f.dir, "minio", "root.yml")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(f.dir, "odd-name.yaml"), twoDocs)
	write(t, filepath.Join(f.dir, "README.md"), "apiVersion: v1\nkind: Secret\nmetadata: {name: readme, namespace: cvat}\n")
	write(t, filepath.Join(f.dir, "empty.yaml"), "")
	write(t, filepath.Join(f.dir, "other-api.yaml"), "apiVersion: example.com/v1\nkind: Secret\nmetadata: {name: fake, namespace: cvat}\n")

	got, err = Existing(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"cvat/cvat-redis", "minio/minio-root"}; !slices.Equal(slices.Sorted(maps.Keys(got)), want) {
		t.Errorf("Existing = %v, want %v", got, want)
	}

	redis := Secret{Namespace: "cvat", Name: "cvat-redis", Keys: []Key{{"password", Password{}}, {"username", Literal("default")}}}
	res, err := Create([]Secret{minio, redis}, f.options())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != 0 || len(res.Existing) != 2 ||
		res.Existing[0] != (Placed{"cvat/cvat-redis", filepath.Join(f.dir, "odd-name.yaml")}) ||
		res.Existing[1] != (Placed{"minio/minio-root", filepath.Join(f.dir, "minio", "root.yml")}) {
		t.Errorf("result %+v", res)
	}
	if len(res.Incomplete) != 1 || res.Incomplete[0].Secret != "cvat/cvat-redis" || !slices.Equal(res.Incomplete[0].Missing, []string{"username"}) {
		t.Errorf("incomplete %+v, want cvat/cvat-redis lacking username", res.Incomplete)
	}
	if !strings.Contains(res.String(), "incomplete cvat/cvat-redis in "+filepath.Join(f.dir, "odd-name.yaml")+": lacks username; add them with: sops edit ") {
		t.Errorf("report:\n%s", res)
	}
}

func TestExistingRefusesWhatFluxRefuses(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"not YAML":       {"broken.yaml": "apiVersion: v1\nkind: [Secret\n"},
		"the same twice": {"a.yaml": twoDocs, "b/c.yaml": twoDocs},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, ageRule)
			for p, c := range files {
				write(t, filepath.Join(f.dir, p), c)
			}
			if _, err := Existing(f.dir); err == nil {
				t.Error("no error")
			}
			if _, err := Create([]Secret{minio}, f.options()); err == nil {
				t.Error("Create: no error")
			}
			if _, err := os.Stat(filepath.Join(f.dir, minio.FileName())); err == nil {
				t.Error("Create wrote despite the error")
			}
		})
	}
}

func TestExistingErrorsQuoteNoValue(t *testing.T) {
	f := newFixture(t, ageRule)
	// A value where a mapping belongs: a typed decoder would quote it.
	write(t, filepath.Join(f.dir, "odd.yaml"), "apiVersion: v1\nkind: Secret\nmetadata: hunter2-in-the-clear\nstringData: hunter3-in-the-clear\n")
	write(t, filepath.Join(f.dir, "bad.yaml"), "apiVersion: v1\nkind: Secret\nstringData:\n  password: hunter4-in-the-clear\n   bad: indent\n")
	_, err := Existing(f.dir)
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "hunter") {
		t.Errorf("the error quotes a value: %v", err)
	}
}

func TestFileNameClash(t *testing.T) {
	f := newFixture(t, ageRule)
	// Namespace a-b, Secret c and namespace a, Secret b-c share a file name.
	abc := Secret{Namespace: "a-b", Name: "c", Keys: []Key{{"k", Password{}}}}
	if _, err := Create([]Secret{abc}, f.options()); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, f.dir)
	other := Secret{Namespace: "a", Name: "b-c", Keys: []Key{{"k", Password{}}}}
	res, err := Create([]Secret{abc, other}, f.options())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(f.dir, "a-b-c.sops.yaml")
	if len(res.Created) != 0 || len(res.Existing) != 1 || len(res.Skipped) != 1 || res.Skipped[0].Secret != "a/b-c" ||
		!strings.Contains(res.Skipped[0].Why, file+" exists and holds no Secret a/b-c") {
		t.Errorf("result %+v", res)
	}
	if !maps.Equal(before, snapshot(t, f.dir)) {
		t.Error("the folder changed")
	}
}
