// Tests of the renderer's parts that need no browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromiumArgs, pictureName, slug } from '../render.mjs';

test('pictures are named after the file, the index and the heading', () => {
  assert.equal(slug('clusters/polylab/README.md'), 'clusters-polylab-readme');
  assert.equal(
    pictureName({ file: 'clusters/polylab/README.md', index: 2, heading: 'Flows' }),
    'clusters-polylab-readme-2-flows',
  );
  assert.equal(pictureName({ file: 'a/b.mmd', index: 1, heading: '' }), 'a-b-1');
  assert.equal(pictureName({ file: '<stdin>', index: 3, heading: 'Nodes · the `servers`!' }), 'stdin-3-nodes-the-servers');
  assert.equal(
    pictureName({ file: 'x.md', index: 1, heading: 'A very long heading that goes on and on past forty letters' }),
    'x-1-a-very-long-heading-that-goes-on-and-on',
  );
});

test('Chromium starts with no network of its own', () => {
  const args = chromiumArgs();
  for (const flag of ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync']) {
    assert.ok(args.includes(flag), flag);
  }
});
