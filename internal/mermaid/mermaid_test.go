package mermaid

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestCheckGood(t *testing.T) {
	t.Parallel()
	err := Check(context.Background(),
		"flowchart LR\n  a[\"x<br/>y\"] --> b\n",
		"sequenceDiagram\n  A->>B: hi",                          // no final newline
		"flowchart TB\n  a[\"a label with ``` in it\"] --> b\n", // a longer fence keeps it inside
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(context.Background()); err != nil {
		t.Fatalf("no diagram: %v", err)
	}
}

func TestCheckBroken(t *testing.T) {
	t.Parallel()
	err := Check(context.Background(),
		"flowchart LR\n  a --> b\n",
		"flowchart LR\n  a --> b\n  b -->\n",
		"pie\n  \"a\": 1\n",
		"flowchat LR\n  a --> b\n",
	)
	if err == nil {
		t.Fatal("Check passed broken diagrams")
	}
	msg := err.Error()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`^mermaid: 2 of 4 diagrams fail Mermaid's parser:\n`),
		regexp.MustCompile(`\ndiagram 2, line 3: Parse error on line \d+:\n {4}`),
		regexp.MustCompile(`\n {4}Expecting .* got 'EOF'\n`),
		regexp.MustCompile(`\ndiagram 4: No diagram type detected`),
	} {
		if !want.MatchString(msg) {
			t.Errorf("error does not match %s:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "diagram 1") || strings.Contains(msg, "diagram 3") {
		t.Errorf("a good diagram is named:\n%s", msg)
	}
}

func TestFailures(t *testing.T) {
	// Diagrams start at lines 1, 5 and 9 of the document Check writes.
	out := "<stdin>:1: ok (flowchart, 2 nodes, 1 edge)\n" +
		"<stdin>:7: Parse error on line 3:\n    context\n    ----^\n" +
		"<stdin>:9: No diagram type detected\n"
	err := failures(out, []int{1, 5, 9})
	want := "mermaid: 2 of 3 diagrams fail Mermaid's parser:\n" +
		"diagram 2, line 2: Parse error on line 3:\n    context\n    ----^\n" +
		"diagram 3: No diagram type detected"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestLongestRun(t *testing.T) {
	for s, want := range map[string]int{"": 0, "a": 0, "`": 1, "a``b```c": 3} {
		if got := longestRun(s, '`'); got != want {
			t.Errorf("longestRun(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	got, err := Summarize(context.Background(),
		"flowchart LR\n  subgraph g[\"g\"]\n    a\n  end\n  a --> b\n  b --> c\n",
		"flowchart TB\n  x\n",
		"sequenceDiagram\n  A->>B: hi\n",
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []Summary{{Type: "flowchart", Nodes: 3, Edges: 2, Subgraphs: 1}, {Type: "flowchart", Nodes: 1}, {Type: "sequence"}}
	if !slices.Equal(got, want) {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
}

func TestSummaries(t *testing.T) {
	out := "<stdin>:1: ok (flowchart, 1 node, 1 edge, 1 subgraph)\n<stdin>:5: ok (pie)\n"
	got, err := summaries(out, 2)
	want := []Summary{{Type: "flowchart", Nodes: 1, Edges: 1, Subgraphs: 1}, {Type: "pie"}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("summaries = %+v, %v; want %+v", got, err, want)
	}
	if _, err := summaries(out, 3); err == nil {
		t.Error("summaries of 3 diagrams from 2 lines passed")
	}
}
