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
//   node check.mjs [--md|--raw] FILE...    '-' reads standard input
//
// Markdown files (.md, .markdown) give their ```mermaid blocks; any other file
// is one raw diagram. Standard input is Markdown if it has a ```mermaid fence,
// else one raw diagram; --md or --raw says which for every input.

import { readBlocks } from './lib/blocks.mjs';

const usage = 'usage: node check.mjs [--md|--raw] FILE...   (- reads standard input)';

function main(argv) {
  let format = 'auto';
  const files = [];
  for (const a of argv) {
    if (a === '--md') format = 'md';
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
  return run(files, format);
}

async function run(files, format) {
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
      console.log(`${b.file}:${b.line}: ok (${r.summary})`);
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

process.exitCode = await main(process.argv.slice(2));
