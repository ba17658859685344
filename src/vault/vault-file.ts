import { ENTRY_HEADING, headingId, isSealedBlock } from './markdown-codec.js';

/**
 * Every unit of a category file (its header and each entry) ends with a `---` line followed by a blank line.
 * Content can never produce this sequence (see the escaping in markdown-codec.ts), so the bytes after the last
 * terminator are exactly an append that has not completed: in flight in another process, or torn by a crash.
 */
export const TERMINATOR = '\n---\n\n';
export const TERMINATOR_BYTES = Buffer.from(TERMINATOR, 'utf8');

/** Length in bytes of the longest prefix of `bytes` made of complete units (0 when there is none). */
export function completeLength(bytes: Uint8Array): number {
  const at = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).lastIndexOf(TERMINATOR_BYTES);
  return at < 0 ? 0 : at + TERMINATOR_BYTES.length;
}

/** True when `bytes` (the end of a file) ends with a complete unit. */
export function endsComplete(bytes: Uint8Array): boolean {
  if (bytes.byteLength < TERMINATOR_BYTES.length) return false;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .subarray(bytes.byteLength - TERMINATOR_BYTES.length)
    .equals(TERMINATOR_BYTES);
}

/** One piece of a category file, as found before parsing the entry itself. */
export type Unit =
  | { readonly kind: 'block'; readonly id: string; readonly sealed: boolean; readonly text: string }
  | { readonly kind: 'broken'; readonly id: string | null; readonly reason: string; readonly raw: string };

const HEADING_AT_LINE = `\n${ENTRY_HEADING}`;
const CLOSE = '\n---\n';

/**
 * Splits complete text into the lead (the file header; text before the first entry heading) and units.
 * A block's text is its entry up to and including the `---` line; the blank line after it is not part of it,
 * and anything else after it is a broken unit of its own (kept raw so a rewrite preserves it).
 */
export function splitUnits(text: string): { lead: string; units: Unit[] } {
  const units: Unit[] = [];
  let pos = 0;
  if (!text.startsWith(ENTRY_HEADING)) {
    const first = text.indexOf(HEADING_AT_LINE);
    pos = first < 0 ? text.length : first + 1;
  }
  const lead = text.slice(0, pos);
  while (pos < text.length) {
    const next = text.indexOf(HEADING_AT_LINE, pos);
    const end = next < 0 ? text.length : next + 1;
    const lineEnd = text.indexOf('\n', pos);
    const id = headingId(text.slice(pos, lineEnd < 0 || lineEnd > end ? end : lineEnd));
    const close = text.indexOf(CLOSE, pos);
    if (close < 0 || close + CLOSE.length > end) {
      units.push({ kind: 'broken', id, reason: 'the entry has no closing ---', raw: text.slice(pos, end) });
    } else if (id === null) {
      units.push({ kind: 'broken', id, reason: 'the heading holds no valid entry id', raw: text.slice(pos, end) });
    } else {
      const block = text.slice(pos, close + CLOSE.length);
      units.push({ kind: 'block', id, sealed: isSealedBlock(block), text: block });
      // Normally exactly one blank line follows; the raw text of anything else starts after that line.
      const rawStart = close + CLOSE.length + (text.charCodeAt(close + CLOSE.length) === 0x0a ? 1 : 0);
      let rest = rawStart;
      while (rest < end && text.charCodeAt(rest) === 0x0a) rest++;
      if (rest < end) {
        units.push({
          kind: 'broken',
          id: null,
          reason: `unrecognised text after memory entry ${id}`,
          raw: text.slice(rawStart, end),
        });
      }
    }
    pos = end;
  }
  return { lead, units };
}
