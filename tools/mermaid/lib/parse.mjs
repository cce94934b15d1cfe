// Parsing with Mermaid's own parser in Node.js. Mermaid needs a DOM only for
// DOMPurify, which sanitizes every label while the parser fills the diagram's
// database; jsdom gives it one. The DOM must exist before DOMPurify's code
// runs, so mermaid is loaded only after the globals are set.
//
// The file loaded is mermaid's browser bundle, dist/mermaid.min.js: the very
// file render.mjs runs in Chromium (and the code of the ES modules, bundled).
// One file evaluates in a quarter of the time of mermaid.core.mjs's hundreds
// of modules: 0.3 s instead of 1 s, on every run of make mermaid-check.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runInThisContext } from 'node:vm';
import { JSDOM } from 'jsdom';
import { errorLine } from './blocks.mjs';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;

/** bundle is the path of mermaid's browser bundle. */
export const bundle = fileURLToPath(new URL('mermaid.min.js', import.meta.resolve('mermaid')));
runInThisContext(readFileSync(bundle, 'utf8'), { filename: bundle });
const { mermaid } = globalThis;

// Mermaid's defaults, as a page that includes it starts from; nothing here
// changes what a diagram means.
mermaid.initialize({ startOnLoad: false });

/** version is the installed mermaid's version (package.json pins it). */
export const version = JSON.parse(readFileSync(new URL('../package.json', import.meta.resolve('mermaid')), 'utf8')).version;

// Mermaid's render, not its parse, refuses a diagram longer than maxTextSize:
// the reader then sees a box saying "Maximum text size in diagram exceeded".
const maxTextSize = mermaid.mermaidAPI.getConfig().maxTextSize ?? 50000;

/**
 * A diagram's parse result.
 * @typedef {object} Result
 * @property {boolean} ok
 * @property {string} [type]      flowchart, sequence, ... (ok only)
 * @property {string} [summary]   'flowchart, 50 nodes, 92 edges, 8 subgraphs' (ok only)
 * @property {string} [message]   Mermaid's error message (not ok)
 * @property {number} [line]      the line of the diagram the error is on, 1-based, when Mermaid says
 */

/**
 * check parses one diagram with mermaid.parse, then counts what its database
 * holds. It never throws: a failure is a Result with ok false.
 * @param {string} text
 * @returns {Promise<import('./parse.mjs').Result>}
 */
export async function check(text) {
  try {
    await mermaid.parse(text);
    if (text.length > maxTextSize) {
      return {
        ok: false,
        message: `the diagram has ${text.length} characters, over Mermaid's maxTextSize of ${maxTextSize}: it renders as "Maximum text size in diagram exceeded"`,
      };
    }
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const type = diagram.type.replace(/-v2$/, '');
    return { ok: true, type, summary: describe(type, diagram.db) };
  } catch (err) {
    return { ok: false, message: String(err?.message ?? err).trimEnd(), line: errorLine(err, text) };
  }
}

// describe counts a flowchart's nodes, edges and subgraphs. A subgraph that an
// edge names is also among the vertices; it is counted as a subgraph only.
function describe(type, db) {
  if (type !== 'flowchart' || typeof db.getVertices !== 'function') return type;
  const subgraphs = db.getSubGraphs();
  const ids = new Set(subgraphs.map((s) => s.id));
  const vertices = [...db.getVertices().keys()].filter((id) => !ids.has(id));
  const parts = [type, plural(vertices.length, 'node'), plural(db.getEdges().length, 'edge')];
  if (subgraphs.length > 0) parts.push(plural(subgraphs.length, 'subgraph'));
  return parts.join(', ');
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
