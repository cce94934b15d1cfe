#!/usr/bin/env node
// check.mjs parses every Mermaid diagram in the files it is given with
// Mermaid's own parser (the pinned mermaid package, in Node.js with jsdom; no
// browser) and prints one line per diagram:
//
//   clusters/polylab/README.md:21: ok (flowchart, 5 nodes, 3 edges, 2 subgraphs)
//   broken.md:4: Parse error on line 2: ...
//
// The line is the opening fence's; for an error, the line Mermaid names.
// Mermaid's message follows whole, its later lines indented. It exits 1 if any
// diagram fails, 2 on a usage error.
//
//   node check.mjs [--md|--raw] [--pictures DIR] FILE...    '-' reads standard input
//
// Markdown files (.md, .markdown) give their ```mermaid blocks; any other file
// is one raw diagram. Standard input is Markdown if it has a ```mermaid fence,
// else one raw diagram; --md or --raw says which for every input.
//
// With --pictures DIR, each diagram must also have its pictures in DIR, drawn
// by render.mjs from this very text (the SVG records the text's SHA-256), so
// a README that shows them shows the diagrams as they are. FILE must be named
// as render.mjs was given it: the pictures are named after it.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pictureName, readBlocks, sourceHash } from './lib/blocks.mjs';

const usage = 'usage: node check.mjs [--md|--raw] [--pictures DIR] FILE...   (- reads standard input)';

function main(argv) {
  let format = 'auto';
  let pictures = '';
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--md') format = 'md';
    else if (a === '--pictures') {
      pictures = argv[++i] ?? '';
      if (!pictures) {
        console.error(`check.mjs: --pictures needs a folder\n${usage}`);
        return 2;
      }
    } else if (a.startsWith('--pictures=')) pictures = a.slice('--pictures='.length);
    else if (a === '--raw') format = 'raw';
    else if (a === '-h' || a === '--help') {
      console.log(usage);
      return 0;
    } else if (a.startsWith('-') && a !== '-') {
      console.error(`check.mjs: unknown flag ${a}\n${usage}`);
      return 2;
    } else files.push(a);
  }
  if (files.length === 0) {
    console.error(usage);
    return 2;
  }
  return run(files, format, pictures);
}

async function run(files, format, pictures) {
  const blocks = [];
  let failed = 0;
  for (const f of files) {
    try {
      blocks.push(...readBlocks(f, format));
    } catch (err) {
      console.log(`${f}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
      failed++;
    }
  }
  // Loading mermaid and jsdom takes a second; a file with no diagram needs neither.
  const { check } = blocks.length > 0 ? await import('./lib/parse.mjs') : {};
  for (const b of blocks) {
    if (b.error) {
      console.log(`${b.file}:${b.line}: ${b.error}`);
      failed++;
      continue;
    }
    const r = await check(b.text);
    if (r.ok) {
      const stale = pictures ? picturesProblem(pictures, b) : '';
      if (stale) {
        console.log(`${b.file}:${b.line}: ${stale}`);
        failed++;
      } else console.log(`${b.file}:${b.line}: ok (${r.summary})`);
      continue;
    }
    failed++;
    const line = r.line ? b.first + r.line - 1 : b.line;
    console.log(`${b.file}:${line}: ${r.message.replace(/\n/g, '\n    ').replace(/[ \t]+$/gm, '')}`);
  }
  if (blocks.length === 0 && failed === 0) {
    console.log(`no Mermaid diagram in ${files.join(', ')}`);
  }
  return failed > 0 ? 1 : 0;
}

// picturesProblem says what is wrong with a diagram's pictures in dir, or ''.
function picturesProblem(dir, block) {
  const base = join(dir, pictureName(block));
  let svg;
  try {
    svg = readFileSync(`${base}.svg`, 'utf8');
  } catch {
    return `no picture ${base}.svg: run make pictures`;
  }
  if (!existsSync(`${base}.png`)) return `no picture ${base}.png: run make pictures`;
  const m = /\bdata-mermaid-sha256="([0-9a-f]+)"/.exec(svg);
  if (!m || m[1] !== sourceHash(block.text)) {
    return `${base}.{svg,png} show an older version of this diagram: run make pictures`;
  }
  return '';
}

process.exitCode = await main(process.argv.slice(2));
