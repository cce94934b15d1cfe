package review_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/polylab/polylab-gitops/pkg/render/review"
)

// bigChange changes n ConfigMaps in each of k Kustomizations, each with a
// long value.
func bigChange(k, n int) (review.Files, review.Files) {
	before, after := review.Files{}, review.Files{}
	long := strings.Repeat("x", 500)
	for u := range k {
		for i := range n {
			p := fmt.Sprintf("apps/unit-%02d/configmap-%03d.yaml", u, i)
			cm := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%03d, namespace: ns-%02d}\ndata: {value: %s%%s}\n", i, u, long)
			for _, side := range []struct {
				files  review.Files
				suffix string
			}{{before, "a"}, {after, "b"}} {
				side.files[p] = files(p, fmt.Sprintf(cm, side.suffix))[p]
			}
		}
	}
	return before, after
}

// TestMarkdownStaysReadable: a large change keeps the summary first,
// folds the details, cuts long values short, and stays within a size
// GitHub accepts for a comment, saying what it left out.
func TestMarkdownStaysReadable(t *testing.T) {
	before, after := bigChange(40, 50)
	r := diff(t, before, after)
	var b bytes.Buffer
	if err := review.WriteMarkdown(&b, r, review.Heading{Dir: "clusters/big", Base: "origin/main"}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if b.Len() > 65536 {
		t.Errorf("the comment has %d bytes, more than GitHub takes", b.Len())
	}
	for _, want := range []string{
		review.Marker + "\n### Render diff of `clusters/big` against `origin/main`\n\n**40 Kustomizations change: 0 objects added, 2000 changed, 0 removed.**",
		"<details><summary>Kustomization <code>unit-00</code>: 50 changed</summary>",
		`"` + strings.Repeat("x", 119) + "… (503 characters)",
		"are left out to keep this comment short; `go run ./cmd/render -diff -base origin/main` shows them all.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q", want)
		}
	}
	if strings.Index(md, "| `unit-39` | 0 | 50 | 0 |") > strings.Index(md, "<details>") {
		t.Error("the summary table must come before the details")
	}
}

// TestTextOfNothing: an unchanged model says so.
func TestTextOfNothing(t *testing.T) {
	before, _ := bigChange(1, 1)
	var b bytes.Buffer
	if err := review.WriteText(&b, diff(t, before, before), review.Heading{Dir: "clusters/x"}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "render: no changes to clusters/x compared with the working tree\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestManyDangers: thousands of danger notes still fit in a comment.
func TestManyDangers(t *testing.T) {
	before := review.Files{}
	for i := range 3000 {
		p := fmt.Sprintf("infrastructure/namespaces/namespace-%04d.yaml", i)
		before[p] = files(p, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns-%04d}\n", i))[p]
	}
	var b bytes.Buffer
	if err := review.WriteMarkdown(&b, diff(t, before, review.Files{}), review.Heading{Dir: "clusters/big", Base: "main"}); err != nil {
		t.Fatal(err)
	}
	if b.Len() > 65536 || !strings.Contains(b.String(), "more: `go run ./cmd/render -diff -base main` shows them all") {
		t.Errorf("%d bytes, the end: %s", b.Len(), b.String()[max(0, b.Len()-500):])
	}
}
