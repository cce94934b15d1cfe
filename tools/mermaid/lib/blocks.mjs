// Finding the Mermaid diagrams in a file: the ```mermaid fenced blocks of a
// Markdown file, or the whole text of a raw Mermaid file.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

// A fence opens with at least three backticks or tildes, indented by at most
// three spaces (CommonMark); the info string's first word names the language.
const openRe = /^( {0,3})(`{3,}|~{3,})[ \t]*([^ \t`]*)[^`]*$/;

/**
 * A diagram found in a file.
 * @typedef {object} Block
 * @property {string} file    the name to print: the path, or <stdin>
 * @property {number} line    the line of the opening fence (1-based); 1 for a raw file
 * @property {number} first   the line of the diagram's first line of text
 * @property {number} index   1 for the file's first diagram, 2 for the next, ...
 * @property {string} heading the Markdown heading above the block, or ''
 * @property {string} text    the diagram, as Mermaid gets it
 * @property {string} [error] set when the block cannot be a diagram (an unclosed fence)
 */

/**
 * blocks returns every ```mermaid (or ~~~mermaid) fenced block of a Markdown
 * text. Other fenced blocks are skipped whole, so a Mermaid fence shown
 * inside a ````markdown example is not taken for a diagram. A block whose
 * fence is never closed runs to the end, as CommonMark says, and carries an
 * error: generated Markdown that ends inside a fence was cut short.
 * @param {string} file
 * @param {string} text
 * @returns {Block[]}
 */
export function markdownBlocks(file, text) {
  const lines = text.split(/\r?\n/);
  const out = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const h = /^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$/.exec(lines[i]);
    if (h) {
      heading = h[1];
      continue;
    }
    const m = openRe.exec(lines[i]);
    if (!m) continue;
    const [, indent, fence, lang] = m;
    const closeRe = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`);
    let j = i + 1;
    while (j < lines.length && !closeRe.test(lines[j])) j++;
    if (lang.toLowerCase() === 'mermaid') {
      // Each line loses up to as many leading spaces as the fence had.
      const body = lines.slice(i + 1, j).map((l) => l.replace(new RegExp(`^ {0,${indent.length}}`), ''));
      const block = {
        file,
        line: i + 1,
        first: i + 2,
        index: out.length + 1,
        heading,
        text: body.join('\n') + '\n',
      };
      if (j >= lines.length) {
        block.error = `the ${fence}mermaid fence is never closed: the Markdown ends inside the diagram`;
      }
      out.push(block);
    }
    i = j;
  }
  return out;
}

/**
 * rawBlock is a file that is one Mermaid diagram (.mmd, .mermaid, ...).
 * @param {string} file
 * @param {string} text
 * @returns {Block[]}
 */
export function rawBlock(file, text) {
  return [{ file, line: 1, first: 1, index: 1, heading: '', text }];
}

/** isMarkdown tells by a file's name whether it is Markdown. */
export function isMarkdown(name) {
  return /\.(md|markdown|mdown|mkd)$/i.test(name);
}

/** hasFence tells whether a text has a ```mermaid fence (for stdin, which has no name). */
export function hasFence(text) {
  return text.split(/\r?\n/).some((l) => {
    const m = openRe.exec(l);
    return m && m[3].toLowerCase() === 'mermaid';
  });
}

/**
 * readBlocks reads a file ('-' for standard input) and returns its diagrams.
 * format is 'md', 'raw' or 'auto': by the name's extension, or for stdin by
 * whether the text has a ```mermaid fence.
 * @param {string} name
 * @param {'md'|'raw'|'auto'} format
 * @returns {Block[]}
 */
export function readBlocks(name, format = 'auto') {
  const stdin = name === '-';
  const file = stdin ? '<stdin>' : name;
  const text = readFileSync(stdin ? 0 : name, 'utf8');
  let md = format === 'md';
  if (format === 'auto') md = stdin ? hasFence(text) : isMarkdown(name);
  return md ? markdownBlocks(file, text) : rawBlock(file, text);
}

// errorLine finds the diagram's line an error is on: jison's parsers (the
// flowchart's, the sequence diagram's, ...) give a location; Langium's (pie,
// info, ...) say "on line N" in the message. Jison counts a line past the end
// at the end of input; such a line is the diagram's last.
export function errorLine(err, text) {
  let line = err?.hash?.loc?.first_line;
  if (!line) {
    const m = /\bon line (\d+)/.exec(String(err?.message ?? ''));
    if (m) line = Number(m[1]);
  }
  if (!line) return undefined;
  const lines = text.replace(/\n$/, '').split('\n').length;
  return Math.min(line, lines);
}

/** slug makes a file-name part: lower case letters, digits and dashes. */
export function slug(s) {
  return s
    .toLowerCase()
    .replace(/\.(md|markdown|mmd|mermaid)$/, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** pictureName names a block's pictures, without the extension. */
export function pictureName(block) {
  const file = block.file === '<stdin>' ? 'stdin' : block.file;
  const parts = [slug(file), String(block.index)];
  if (block.heading) parts.push(slug(block.heading).slice(0, 40).replace(/-+$/, ''));
  return parts.filter(Boolean).join('-');
}

/** sourceHash is what render.mjs records in a picture of the diagram text. */
export function sourceHash(text) {
  return createHash('sha256').update(text).digest('hex');
}
