// Tests of check.mjs as make mermaid-check and the Go tests run it: its
// output and exit status on good diagrams and on a deliberately broken example.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourceHash } from '../lib/blocks.mjs';

const dir = fileURLToPath(new URL('..', import.meta.url));

// checkCmd runs check.mjs in the tool's folder, so it prints test/testdata/...
function checkCmd(args, input) {
  const r = spawnSync(process.execPath, ['check.mjs', ...args], { cwd: dir, input, encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

// Each run loads mermaid and jsdom (about 2 s of CPU), so the tests run it
// only a few times.

test('good diagrams pass; the deliberately broken example fails with Mermaid\'s message on its line', () => {
  const r = checkCmd(['test/testdata/good.md', 'test/testdata/raw.mmd', 'test/testdata/broken.md']);
  assert.equal(r.err, '');
  assert.equal(r.status, 1, 'broken.md fails the run');
  const lines = r.out.split('\n');
  assert.deepEqual(lines.slice(0, 4), [
    'test/testdata/good.md:5: ok (flowchart, 4 nodes, 2 edges, 1 subgraph)',
    'test/testdata/good.md:28: ok (sequence)',
    'test/testdata/raw.mmd:1: ok (flowchart, 2 nodes, 1 edge)',
    'test/testdata/broken.md:6: ok (flowchart, 2 nodes, 1 edge)',
  ]);
  // Mermaid's message whole, its later lines indented under the file's line.
  assert.match(lines[4], /^test\/testdata\/broken\.md:14: Parse error on line \d+:$/);
  assert.match(lines[5], /^ {4}\S/);
  assert.match(r.out, /\n {4}Expecting .*got 'EOF'\n$/);
});

test('stdin: Markdown with a good, a broken and an unclosed block', () => {
  const r = checkCmd(['-'], '# x\n\n```mermaid\nsequenceDiagram\n  A->>B: hi\n```\n\n```mermaid\nflowchart LR\n  a -->\n```\n\n```mermaid\nflowchart LR\n');
  assert.equal(r.status, 1);
  assert.match(r.out, /^<stdin>:3: ok \(sequence\)\n<stdin>:10: Parse error/);
  assert.match(r.out, /\n<stdin>:13: the ```mermaid fence is never closed: the Markdown ends inside the diagram\n$/);
});

test('--pictures: each diagram has pictures of its current text', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'mermaid-pictures-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const raw = 'flowchart LR\n  a -->|"http 80/TCP"| b\n';
  const svg = (text) => `<svg xmlns="http://www.w3.org/2000/svg" data-mermaid-sha256="${sourceHash(text)}"/>`;
  // good.md's first diagram is drawn from other text; its second not at all.
  writeFileSync(join(out, 'test-testdata-raw-1.svg'), svg(raw));
  writeFileSync(join(out, 'test-testdata-raw-1.png'), '');
  writeFileSync(join(out, 'test-testdata-good-1-nodes.svg'), svg('flowchart LR\n  a\n'));
  writeFileSync(join(out, 'test-testdata-good-1-nodes.png'), '');
  const r = checkCmd(['--pictures', out, 'test/testdata/raw.mmd', 'test/testdata/good.md']);
  assert.equal(r.status, 1);
  assert.equal(
    r.out.replaceAll(out, 'OUT'),
    [
      'test/testdata/raw.mmd:1: ok (flowchart, 2 nodes, 1 edge)',
      'test/testdata/good.md:5: OUT/test-testdata-good-1-nodes.{svg,png} show an older version of this diagram: run make pictures',
      'test/testdata/good.md:28: no picture OUT/test-testdata-good-2-order.svg: run make pictures',
      '',
    ].join('\n'),
  );
});

test('usage errors exit 2; a missing file fails', () => {
  assert.equal(checkCmd([]).status, 2);
  assert.equal(checkCmd(['--svg', 'x.md']).status, 2);
  const r = checkCmd(['test/testdata/missing.md']);
  assert.equal(r.status, 1);
  assert.equal(r.out, 'test/testdata/missing.md: no such file\n');
});
