// Package mermaid checks Mermaid diagrams with Mermaid's own parser: it runs
// tools/mermaid/check.mjs (the pinned mermaid package, in Node.js) on the
// diagrams, so a test can check what the project generates before a reader's
// browser refuses it.
//
// It needs Node.js 20.19 or newer and the tool's packages, which
// `make mermaid-deps` installs (npm ci in tools/mermaid); without them Check
// fails and says so.
package mermaid

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Tool is the checker's folder, from the repository's root.
const Tool = "tools/mermaid"

// Check parses each diagram with Mermaid's parser and returns nil when all
// parse. Otherwise its error names each diagram that fails by its position
// among the arguments (1-based) and the line in it, with Mermaid's message.
func Check(ctx context.Context, diagrams ...string) error {
	_, err := Summarize(ctx, diagrams...)
	return err
}

// Summary is what Mermaid's parser found in a diagram: its type and, for a
// flowchart, how many nodes (subgraphs not counted), edges and subgraphs
// Mermaid stored.
type Summary struct {
	Type                    string
	Nodes, Edges, Subgraphs int
}

// Summarize parses each diagram as Check does and returns, when all parse,
// what Mermaid counted in each, in order: a test can bound a diagram's size
// by Mermaid's own count.
func Summarize(ctx context.Context, diagrams ...string) ([]Summary, error) {
	if len(diagrams) == 0 {
		return nil, nil
	}
	dir, err := toolDir()
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("mermaid: node is not on PATH: install Node.js 20.19 or newer, then run make mermaid-deps")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "mermaid", "package.json")); err != nil {
		return nil, fmt.Errorf("mermaid: the checker's packages are not installed: run make mermaid-deps (npm ci in %s)", Tool)
	}

	// One Markdown document, a fenced block per diagram; starts[i] is the
	// line of diagram i's opening fence.
	var md strings.Builder
	starts := make([]int, len(diagrams))
	line := 1
	for i, d := range diagrams {
		if !strings.HasSuffix(d, "\n") {
			d += "\n"
		}
		fence := strings.Repeat("`", max(3, longestRun(d, '`')+1))
		starts[i] = line
		fmt.Fprintf(&md, "%smermaid\n%s%s\n\n", fence, d, fence)
		line += strings.Count(d, "\n") + 3
	}

	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "check.mjs"), "--md", "-")
	cmd.Stdin = strings.NewReader(md.String())
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return summaries(stdout.String(), len(diagrams))
	case errors.As(err, &exit) && exit.ExitCode() == 1 && ctx.Err() == nil:
		return nil, failures(stdout.String(), starts)
	default:
		return nil, fmt.Errorf("mermaid: %s: %v\n%s%s", Tool+"/check.mjs", err, stderr.String(), stdout.String())
	}
}

var summaryLine = regexp.MustCompile(`^<stdin>:\d+: ok \(([^,)]+)(?:, (\d+) nodes?, (\d+) edges?(?:, (\d+) subgraphs?)?)?\)$`)

// summaries reads check.mjs's "ok (flowchart, 5 nodes, 3 edges, 2
// subgraphs)" lines, one per diagram in order.
func summaries(out string, n int) ([]Summary, error) {
	var list []Summary
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		m := summaryLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s := Summary{Type: m[1]}
		s.Nodes, _ = strconv.Atoi(m[2])
		s.Edges, _ = strconv.Atoi(m[3])
		s.Subgraphs, _ = strconv.Atoi(m[4])
		list = append(list, s)
	}
	if len(list) != n {
		return nil, fmt.Errorf("mermaid: the checker passed %d diagrams and described %d:\n%s", n, len(list), out)
	}
	return list, nil
}

var resultLine = regexp.MustCompile(`^<stdin>:(\d+): (.*)$`)

// failures turns check.mjs's report on the document Check wrote into one
// error, naming diagrams by their position.
func failures(out string, starts []int) error {
	var msgs []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	failing := false
	for sc.Scan() {
		text := sc.Text()
		m := resultLine.FindStringSubmatch(text)
		if m == nil {
			// A later line of Mermaid's message, indented.
			if failing && len(msgs) > 0 {
				msgs[len(msgs)-1] += "\n" + text
			}
			continue
		}
		failing = !strings.HasPrefix(m[2], "ok (")
		if !failing {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		i := len(starts) - 1
		for i > 0 && starts[i] > n {
			i--
		}
		where := fmt.Sprintf("diagram %d", i+1)
		if n > starts[i] {
			where += fmt.Sprintf(", line %d", n-starts[i])
		}
		msgs = append(msgs, where+": "+m[2])
	}
	if len(msgs) == 0 {
		return fmt.Errorf("mermaid: the checker failed and named no diagram:\n%s", out)
	}
	return fmt.Errorf("mermaid: %d of %d diagrams fail Mermaid's parser:\n%s", len(msgs), len(starts), strings.Join(msgs, "\n"))
}

// toolDir finds tools/mermaid in the working directory or above it: a Go
// test runs in its package's folder, inside the repository.
func toolDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, filepath.FromSlash(Tool))
		if _, err := os.Stat(filepath.Join(p, "check.mjs")); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("mermaid: no %s/check.mjs in the working directory or above it", Tool)
		}
		dir = parent
	}
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}
