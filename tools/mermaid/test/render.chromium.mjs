// Tests of render.mjs in headless Chromium. make pictures runs them before it
// renders (node --test test/render.chromium.mjs); make mermaid-check does not,
// as it needs no browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JSDOM } from 'jsdom';

const dir = fileURLToPath(new URL('..', import.meta.url));

function renderCmd(args) {
  const r = spawnSync(process.execPath, ['render.mjs', ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test('each diagram becomes an SVG and a PNG of the size it reports; stale pictures go', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'mermaid-pictures-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  writeFileSync(join(out, 'test-testdata-good-9-gone.png'), '');
  writeFileSync(join(out, 'someone-else-1.png'), '');

  const r = renderCmd(['--out', out, 'test/testdata/good.md', 'test/testdata/raw.mmd']);
  assert.equal(r.status, 0, r.out + r.err);
  const re = /^(\S+?):(\d+): (\S+)\.\{svg,png\}: (\d+) x (\d+) px$/;
  const lines = r.out.split('\n').filter((l) => re.test(l));
  assert.deepEqual(
    lines.map((l) => l.replace(re, '$1:$2 $3').replace(out, 'OUT')),
    [
      'test/testdata/good.md:5 OUT/test-testdata-good-1-nodes',
      'test/testdata/good.md:28 OUT/test-testdata-good-2-order',
      'test/testdata/raw.mmd:1 OUT/test-testdata-raw-1',
    ],
  );
  for (const l of lines) {
    const [, , , base, w, h] = re.exec(l);
    const png = readFileSync(`${base}.png`);
    assert.equal(png.toString('latin1', 1, 4), 'PNG');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [Number(w), Number(h)], base);
    // Well-formed XML (an <img> shows nothing else), with its size set.
    const svg = new JSDOM(readFileSync(`${base}.svg`, 'utf8'), { contentType: 'image/svg+xml' }).window.document.documentElement;
    assert.equal(svg.tagName, 'svg');
    assert.deepEqual([svg.getAttribute('width'), svg.getAttribute('height')], [w, h]);
  }
  assert.match(r.out, /\nremoved \S+\/test-testdata-good-9-gone\.png\n/);
  assert.equal(existsSync(join(out, 'test-testdata-good-9-gone.png')), false);
  assert.equal(existsSync(join(out, 'someone-else-1.png')), true);
  assert.match(r.out, /\nmermaid 11\.17\.2 in \d+\.[\d.]+, text in \S/);

  // The pictures record what they are of, for check.mjs --pictures.
  const c = spawnSync(process.execPath, ['check.mjs', '--pictures', out, 'test/testdata/good.md', 'test/testdata/raw.mmd'], {
    cwd: dir,
    encoding: 'utf8',
  });
  assert.equal(c.status, 0, c.stdout + c.stderr);
});

test('a broken diagram fails the run with Mermaid\'s message on its line', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'mermaid-pictures-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const r = renderCmd(['--out', out, 'test/testdata/broken.md']);
  assert.equal(r.status, 1, r.out + r.err);
  assert.match(r.out, /^test\/testdata\/broken\.md:6: \S+-1-a-deliberately-broken-diagram\.\{svg,png\}: \d+ x \d+ px\n/);
  assert.match(r.out, /\ntest\/testdata\/broken\.md:14: Parse error on line \d+:\n {4}/);
});
