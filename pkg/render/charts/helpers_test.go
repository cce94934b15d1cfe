package charts

import (
	"os"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	helmchart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
)

// archiveDir packages a chart folder of testdata as helm package would,
// with Helm's own chartutil.Save: tests never commit binary archives.
func archiveDir(t testing.TB, dir string) []byte {
	t.Helper()
	ch, err := loader.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return save(t, ch)
}

// archiveChart makes a one-template chart; body tells charts apart, so two
// calls with one name and version and different bodies make the "same"
// chart with other bytes, as an upstream that republished a version.
func archiveChart(t testing.TB, name, version, body string) []byte {
	t.Helper()
	ch := &helmchart.Chart{
		Metadata: &helmchart.Metadata{APIVersion: helmchart.APIVersionV2, Name: name, Version: version},
		Templates: []*common.File{{
			Name: "templates/configmap.yaml",
			Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  body: " + body + "\n"),
		}},
	}
	return save(t, ch)
}

func save(t testing.TB, ch *helmchart.Chart) []byte {
	t.Helper()
	p, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testChart is the parent chart of testdata, loaded as the cache loads it.
func testChart(t testing.TB) *Chart {
	t.Helper()
	ch, err := LoadArchive(archiveDir(t, "testdata/charts/parent"))
	if err != nil {
		t.Fatal(err)
	}
	return ch
}
