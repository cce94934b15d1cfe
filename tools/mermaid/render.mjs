#!/usr/bin/env node
// render.mjs draws every Mermaid diagram in the files it is given as a reader
// sees it: the pinned mermaid renders it in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core), which lays out the text
// with real fonts. Each diagram becomes an SVG and a PNG, named after the
// file, the diagram's index in it and the heading above it:
//
//   docs/pictures/clusters-polylab-readme-1-nodes.svg
//   docs/pictures/clusters-polylab-readme-1-nodes.png
//
// and one line says how large it is:
//
//   clusters/polylab/README.md:21: docs/pictures/clusters-polylab-readme-1-nodes.{svg,png}: 736 x 282 px
//
// followed, for a diagram wider than a GitHub column, by how small its text
// gets when the column shrinks it to fit.
//
//   node render.mjs [--out DIR] [--scale N] [--column PX] [--chromium PATH] FILE...
//
// Files are read as check.mjs reads them ('-' is standard input). Pictures a
// file had before that it no longer has (fewer diagrams, a heading renamed)
// are removed from DIR. Nothing is fetched: the page is built in memory, and
// Chromium is started with no network of its own. Exit status: 0 done, 1 a
// diagram failed to render, 2 usage error.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { errorLine, pictureName, readBlocks, slug, sourceHash } from './lib/blocks.mjs';

export { pictureName, slug };

const usage = 'usage: node render.mjs [--out DIR] [--scale N] [--column PX] [--chromium PATH] FILE...';

// Mermaid's text is 16 px; a reader's GitHub column is about 880 px wide
// (a repository's README or a pull request's file view on a laptop).
const fontPx = 16;

/**
 * The flags Chromium needs on a closed network: no sandbox (we may be root),
 * no GPU, and nothing that calls home. The fresh --user-data-dir is
 * playwright-core's: launch makes an empty profile folder for each start and
 * removes it at close (it refuses the flag from us).
 */
export function chromiumArgs() {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ];
}

function parseArgs(argv) {
  const o = { out: 'docs/pictures', scale: 1, column: 880, chromium: '/usr/bin/chromium', files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--out') o.out = value();
    else if (a === '--scale') o.scale = Number(value());
    else if (a === '--column') o.column = Number(value());
    else if (a === '--chromium') o.chromium = value();
    else if (a === '-h' || a === '--help') o.help = true;
    else if (a.startsWith('-') && a !== '-') throw new Error(`unknown flag ${a}`);
    else o.files.push(a);
  }
  if (!(o.scale > 0) || !(o.column > 0)) throw new Error('--scale and --column take a positive number');
  if (o.files.length === 0 && !o.help) throw new Error('no file given');
  return o;
}

// The page's side: mermaid renders one diagram into the document, the SVG is
// given its natural size and a white background (GitHub's dark mode would
// show black text on black otherwise), and XMLSerializer writes it as XML,
// which an <img> can show (mermaid's own string is HTML: <br> is not closed).
async function drawInPage({ id, text, sha256 }) {
  const box = document.getElementById('box');
  box.replaceChildren();
  // Mermaid would draw a box saying "Maximum text size in diagram exceeded".
  const max = window.mermaid.mermaidAPI.getConfig().maxTextSize ?? 50000;
  if (text.length > max) {
    return { error: `the diagram has ${text.length} characters, over Mermaid's maxTextSize of ${max}` };
  }
  let svg;
  try {
    ({ svg } = await window.mermaid.render(id, text));
  } catch (err) {
    return { error: String(err?.message ?? err), hash: { loc: err?.hash?.loc } };
  }
  box.innerHTML = svg;
  const el = box.querySelector('svg');
  const vb = el.viewBox.baseVal;
  const width = Math.ceil(vb && vb.width ? vb.width : el.getBBox().width);
  const height = Math.ceil(vb && vb.height ? vb.height : el.getBBox().height);
  el.setAttribute('width', String(width));
  el.setAttribute('height', String(height));
  el.style.maxWidth = '';
  el.style.backgroundColor = 'white';
  // What the picture is of, for check.mjs --pictures.
  el.setAttribute('data-mermaid-sha256', sha256);
  const xml = new XMLSerializer().serializeToString(el);
  // The file must show as an image: an <img> is how GitHub shows an SVG.
  const img = new Image();
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(xml)}`;
  try {
    await img.decode();
  } catch {
    return { error: 'the SVG does not load as an image' };
  }
  if (img.naturalWidth !== width || img.naturalHeight !== height) {
    return { error: `the SVG loads as an image of ${img.naturalWidth} x ${img.naturalHeight} px, not ${width} x ${height}` };
  }
  // The element that holds the first words, for fontOf (after the XML is
  // written: the mark is not the picture's).
  const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT, (n) =>
    n.data.trim() && !n.parentElement.closest('style') ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP,
  );
  walk.nextNode()?.parentElement.setAttribute('data-font-probe', '');
  return { width, height, xml };
}

// fontOf asks Chromium which font it drew a label with: the Arial of
// mermaid's "trebuchet ms", verdana, arial, sans-serif is Liberation Sans
// where fonts-liberation2 is installed.
async function fontOf(page) {
  try {
    const cdp = await page.context().newCDPSession(page);
    const { root } = await cdp.send('DOM.getDocument', { depth: -1, pierce: true });
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: '[data-font-probe]' });
    if (!nodeId) return '';
    await cdp.send('CSS.enable');
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    await cdp.detach();
    return fonts.map((f) => f.familyName).join(', ');
  } catch {
    return '';
  }
}

function pngSize(buf) {
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

async function main(argv) {
  let o;
  try {
    o = parseArgs(argv);
  } catch (err) {
    console.error(`render.mjs: ${err.message}\n${usage}`);
    return 2;
  }
  if (o.help) {
    console.log(usage);
    return 0;
  }
  const blocks = [];
  const written = new Map(); // a source's slug -> the pictures written of it
  let failed = 0;
  for (const f of o.files) {
    try {
      blocks.push(...readBlocks(f));
      if (f !== '-') written.set(slug(f), new Set());
    } catch (err) {
      console.log(`${f}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
      failed++;
    }
  }
  if (blocks.length === 0) {
    if (failed === 0) console.log(`no Mermaid diagram in ${o.files.join(', ')}`);
    return failed > 0 ? 1 : 0;
  }
  mkdirSync(o.out, { recursive: true });

  let browser;
  try {
    browser = await chromium.launch({
      executablePath: o.chromium,
      args: chromiumArgs(),
      chromiumSandbox: false,
      timeout: 60_000,
    });
  } catch (err) {
    console.error(
      `render.mjs: cannot start Chromium at ${o.chromium}: ${err.message.split('\n')[0]}\n` +
        `  make pictures installs it (hack/ensure-tools.sh chromium, as root)`,
    );
    return 1;
  }
  try {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      deviceScaleFactor: o.scale,
      offline: true,
    });
    // The page asks for nothing; anything it does ask for is refused and said.
    await context.route('**/*', (route) => {
      console.error(`render.mjs: refused a request for ${route.request().url()}`);
      return route.abort();
    });
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error(`render.mjs: page error: ${err.message}`));
    await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head>' +
      '<body style="margin:0;background:white"><div id="box" style="display:inline-block"></div></body></html>');
    await page.addScriptTag({ path: fileURLToPath(import.meta.resolve('mermaid/dist/mermaid.min.js')) });
    // The same diagram gives the same SVG, so a commit of the pictures changes
    // only when a diagram does: deterministicIds, and a fixed seed for the
    // random control points rough.js puts on straight sides (a stadium's).
    await page.evaluate(() =>
      window.mermaid.initialize({ startOnLoad: false, deterministicIds: true, handDrawnSeed: 1 }),
    );
    const version = JSON.parse(readFileSync(new URL('../package.json', import.meta.resolve('mermaid')), 'utf8')).version;

    let font = '';
    for (const b of blocks) {
      if (b.error) {
        console.log(`${b.file}:${b.line}: ${b.error}`);
        failed++;
        continue;
      }
      const name = pictureName(b);
      const r = await page.evaluate(drawInPage, { id: `mermaid-${b.index}`, text: b.text, sha256: sourceHash(b.text) });
      if (r.error) {
        const at = errorLine({ message: r.error, hash: r.hash }, b.text);
        console.log(`${b.file}:${at ? b.first + at - 1 : b.line}: ${r.error.replace(/\n/g, '\n    ').replace(/[ \t]+$/gm, '')}`);
        failed++;
        continue;
      }
      if (!font) font = await fontOf(page);
      const png = await page.locator('#box > svg').screenshot({ type: 'png', animations: 'disabled' });
      writeFileSync(join(o.out, `${name}.svg`), `${r.xml}\n`);
      writeFileSync(join(o.out, `${name}.png`), png);
      written.get(slug(b.file))?.add(name);

      const p = pngSize(png);
      let line = `${b.file}:${b.line}: ${join(o.out, name)}.{svg,png}: ${r.width} x ${r.height} px`;
      if (o.scale !== 1) line += ` (PNG ${p.width} x ${p.height} at ${o.scale}x)`;
      if (r.width > o.column) {
        const k = o.column / r.width;
        line += `; in a ${o.column} px column: ${Math.round(k * 100)}%, its ${fontPx} px text ${(fontPx * k).toFixed(1)} px high`;
      }
      console.log(line);
    }
    console.log(`mermaid ${version} in ${browser.version()}${font ? `, text in ${font}` : ''}`);
  } finally {
    await browser.close();
  }

  // A picture of a rendered file that this run did not write is stale; after
  // a failure the old pictures stay until the diagrams render again.
  for (const [src, names] of failed > 0 ? [] : written) {
    for (const f of readdirSync(o.out)) {
      const m = /^(.*)\.(svg|png)$/.exec(f);
      if (m && m[1].startsWith(`${src}-`) && /^\d+(-|$)/.test(m[1].slice(src.length + 1)) && !names.has(m[1])) {
        rmSync(join(o.out, f));
        console.log(`removed ${join(o.out, basename(f))}`);
      }
    }
  }
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
