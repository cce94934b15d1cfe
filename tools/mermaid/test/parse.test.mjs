// Tests of the library in one process: finding the blocks, and what
// Mermaid's parser says of good, broken and unreadable diagrams.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { markdownBlocks, hasFence, rawBlock } from '../lib/blocks.mjs';
import { check, version } from '../lib/parse.mjs';

test('markdownBlocks finds mermaid fences with their lines and headings', () => {
  const md = [
    '# Title', // 1
    '', // 2
    '```mermaid', // 3
    'flowchart LR', // 4
    '  a --> b', // 5
    '```', // 6
    '## Flows', // 7
    '````markdown', // 8
    '```mermaid', // 9: inside another block, not a diagram
    'x', // 10
    '```', // 11
    '````', // 12
    '  ~~~ Mermaid title="x"', // 13
    '  flowchart TB', // 14
    '    c', // 15
    '  ~~~', // 16
    '```go', // 17
    '# not a heading', // 18
    '```', // 19
    '```mermaid', // 20
    'pie', // 21
  ].join('\n');
  const b = markdownBlocks('x.md', md);
  assert.deepEqual(
    b.map(({ line, first, index, heading, text, error }) => ({ line, first, index, heading, text, error })),
    [
      { line: 3, first: 4, index: 1, heading: 'Title', text: 'flowchart LR\n  a --> b\n', error: undefined },
      { line: 13, first: 14, index: 2, heading: 'Flows', text: 'flowchart TB\n  c\n', error: undefined },
      {
        line: 20,
        first: 21,
        index: 3,
        heading: 'Flows',
        text: 'pie\n',
        error: 'the ```mermaid fence is never closed: the Markdown ends inside the diagram',
      },
    ],
  );
});

test('hasFence tells Markdown from a raw diagram on stdin', () => {
  assert.equal(hasFence('text\n```mermaid\nflowchart LR\n```\n'), true);
  assert.equal(hasFence('flowchart LR\n  a --> b\n'), false);
  assert.equal(rawBlock('-', 'x').length, 1);
});

test('the pinned mermaid is the one loaded', () => {
  assert.equal(version, '11.17.2');
});

test('a flowchart is counted: nodes, edges, subgraphs', async () => {
  const r = await check('flowchart TB\n  subgraph s["S"]\n    a["x<br/>y"]\n  end\n  a --> b\n  s -.-> c\n');
  assert.deepEqual(r, { ok: true, type: 'flowchart', summary: 'flowchart, 3 nodes, 2 edges, 1 subgraph' });
  // Mermaid keeps one database per type: the next diagram starts empty.
  assert.equal((await check('flowchart LR\n  a --> b\n')).summary, 'flowchart, 2 nodes, 1 edge');
  assert.deepEqual(await check('sequenceDiagram\n  A->>B: hi\n'), { ok: true, type: 'sequence', summary: 'sequence' });
});

test('broken diagrams carry Mermaid\'s message and the line it is on', async () => {
  let r = await check('flowchart LR\n  a --> b\n  b -->\n');
  assert.equal(r.ok, false);
  assert.equal(r.line, 3);
  assert.match(r.message, /^Parse error on line \d+:\n.*\n-+\^\nExpecting .* got 'EOF'$/);

  r = await check('flowchart LR\n  a["unclosed] --> b\n  c --> d\n');
  assert.equal(r.line, 2);

  r = await check('pie\n  "a": 1\n  "b" 2\n');
  assert.equal(r.line, 3);
  assert.match(r.message, /Expecting token of type ':'/);

  r = await check('flowchat LR\n  a --> b\n');
  assert.match(r.message, /^No diagram type detected/);
  r = await check('');
  assert.match(r.message, /^No diagram type detected/);
  r = await check('```mermaid\nflowchart LR\n```\n');
  assert.equal(r.ok, false, 'a fence is no diagram');
});

test('what parses but a reader would not see fails too', async () => {
  // Mermaid's parser refuses more than maxEdges (500) edges.
  const edges = Array.from({ length: 501 }, (_, i) => `  n${i} --> n${i + 1}`);
  let r = await check(`flowchart LR\n${edges.join('\n')}\n`);
  assert.equal(r.ok, false);
  assert.match(r.message, /^Edge limit exceeded/);

  // Its render replaces a diagram over maxTextSize with an error box.
  const long = Array.from({ length: 200 }, (_, i) => `  n${i}["${'label '.repeat(50)}"] --> n${i + 1}`);
  r = await check(`flowchart LR\n${long.join('\n')}\n`);
  assert.equal(r.ok, false);
  assert.match(r.message, /over Mermaid's maxTextSize of 50000/);
});
