import { CATEGORIES, type Category, isCategory, LEVEL_NAMES, levelOf, type SecurityLevel } from '../core/category.js';
import { entryChecksum } from '../core/checksum.js';
import { CHANNELS, type Channel, type MemoryEntry, type UserId } from '../core/entry.js';
import { corruption, validationError } from '../core/errors.js';

/**
 * The seed's "Memory Entry Format" (docs/entry-format.md), rendered and parsed so that
 * `parseEntry(renderEntry(e), e.userId)` deep-equals `e` for every valid entry.
 *
 * Escaping, applied to every line of the free-text sections (Content, AI Analysis):
 * - a line holding a character that breaks lines or is invisible in editors (CR and other controls, U+2028/9,
 *   a lone surrogate) is written as `\` followed by the line as a JSON string;
 * - otherwise a line starting with `\`, `#`, `---`, a back-tick fence or a tilde fence gets one `\` prefix;
 * - every other line is written as it is.
 * Single-line values (Emotional Context, External ID) are written as they are when that is unambiguous, else as
 * a JSON string. So `## Memory Entry #`, `### …` headings and the closing `---` only ever appear as structure.
 */

export const ENTRY_HEADING = '## Memory Entry #';
const REVISION_PREFIX = '**Revision**: ';
export const SEALED_FENCE = '```memvault-sealed';
const FENCE_END = '```';
const CLOSING = '---';

/** ULID: 26 Crockford base-32 characters. */
export const ENTRY_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const CHECKSUM = /^[0-9a-f]{16}$/;
const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/;

// Characters that must not appear raw in a file line: C0 controls but tab and LF, DEL, C1 controls, line and
// paragraph separators, BOM, and lone surrogates (not encodable in UTF-8).
const UNSAFE =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSAFE_GLOBAL = new RegExp(UNSAFE.source, 'g');
const NON_ASCII_JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029\ufeff]/g;

const hex4 = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** JSON string literal with every character `UNSAFE` names escaped as `\uXXXX`. */
function quote(value: string): string {
  return JSON.stringify(value).replace(NON_ASCII_JSON_UNSAFE, hex4);
}

function unquote(text: string, what: string): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'string') throw corruption(`The ${what} holds a malformed quoted value.`);
  return value;
}

/** True when `value` holds a character `UNSAFE` names (a lone surrogate, a control, an invisible line break). */
export function hasUnsafeCharacters(value: string): boolean {
  return UNSAFE.test(value);
}

/** Replaces unsafe characters with a space (for single-line values such as tags). */
export function stripUnsafeCharacters(value: string): string {
  return value.replace(UNSAFE_GLOBAL, ' ');
}

function encodeLine(line: string): string {
  if (UNSAFE.test(line)) return `\\${quote(line)}`;
  const first = line.charCodeAt(0);
  if (
    first === 0x5c /* \ */ ||
    first === 0x23 /* # */ ||
    line.startsWith('---') ||
    line.startsWith('```') ||
    line.startsWith('~~~')
  ) {
    return `\\${line}`;
  }
  return line;
}

function decodeLine(line: string, what: string): string {
  if (line.charCodeAt(0) !== 0x5c) return line;
  if (line.charCodeAt(1) === 0x22 /* " */) return unquote(line.slice(1), what);
  return line.slice(1);
}

/** Escapes free text (any string) into the lines of a section. There is always at least one line. */
export function encodeSection(text: string): string[] {
  return text.split('\n').map(encodeLine);
}

/** Inverse of `encodeSection`. */
export function decodeSection(lines: readonly string[], what = 'section'): string {
  return lines.map((line) => decodeLine(line, what)).join('\n');
}

/** A single-line value: as it is when unambiguous, else a JSON string. `none` is reserved for null. */
export function encodeInline(value: string): string {
  if (
    value.length === 0 ||
    value.trim() !== value ||
    value.includes('\n') ||
    value.charCodeAt(0) === 0x22 ||
    value === 'none' ||
    UNSAFE.test(value)
  ) {
    return quote(value);
  }
  return value;
}

export function decodeInline(text: string, what: string): string {
  if (text.charCodeAt(0) === 0x22) return unquote(text, what);
  if (text.length === 0) throw corruption(`The ${what} is empty.`);
  return text;
}

const encodeNullable = (value: string | null) => (value === null ? 'none' : encodeInline(value));
const decodeNullable = (text: string, what: string) => (text === 'none' ? null : decodeInline(text, what));

/** A tag in normal form: non-empty, at most 64 characters, no comma, no leading `#`, no line breaks or controls, trimmed. */
export function isNormalTag(tag: string): boolean {
  return (
    tag.length > 0 &&
    tag.length <= MAX_TAG_LENGTH &&
    tag.trim() === tag &&
    !tag.includes(',') &&
    !tag.startsWith('#') &&
    !/\s{2,}|[\n\t]/.test(tag) &&
    !UNSAFE.test(tag)
  );
}

export const MAX_TAG_LENGTH = 64;
export const MAX_TAGS = 32;

function assertIso(value: string, field: string): void {
  if (!isIsoUtc(value))
    throw validationError(`The ${field} must be an ISO 8601 UTC time with milliseconds.`, { field });
}

const digits = (s: string, at: number, n: number): number => {
  let value = 0;
  for (let i = at; i < at + n; i++) value = value * 10 + s.charCodeAt(i) - 48;
  return value;
};

/** `2026-11-26T18:04:49.000Z`, and a real instant (no 30 February). Runs on every parsed entry: no Date. */
export function isIsoUtc(value: string): boolean {
  if (value.length !== 24 || !ISO_UTC.test(value)) return false;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  if (month < 1 || month > 12 || day < 1 || digits(value, 11, 2) > 23 || digits(value, 14, 2) > 59) return false;
  if (digits(value, 17, 2) > 59) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return day <= days;
}

/** What a later block of an entry is (docs/entry-format.md, "Revisions"). */
export const REVISION_KINDS = ['update', 'edit', 'trash', 'restore'] as const;
export type RevisionKind = (typeof REVISION_KINDS)[number];

/**
 * The revision line of a block: the first block of an entry is revision 1 and has none; every later block of the
 * same id (appended to the same or another category file) carries its number, what it changed and when.
 */
export interface Revision {
  /** 2, 3, …: higher supersedes lower. */
  readonly n: number;
  /** update: fields other than the text (importance, links, tags, category); edit: the text (the earlier block is a
   * version the person sees); trash: moved to the trash; restore: back from it. */
  readonly kind: RevisionKind;
  /** When it was written, ISO 8601 UTC with milliseconds. */
  readonly at: string;
}

const MAX_REVISION = 999_999_999;
const REVISION_LINE = /^\*\*Revision\*\*: ([1-9][0-9]{0,8}) \((update|edit|trash|restore), ([^)]*)\)$/;

/** `**Revision**: 3 (edit, 2026-11-30T11:00:00.000Z)`. @throws VALIDATION_ERROR for a revision the format cannot hold. */
export function revisionLine(revision: Revision): string {
  if (!Number.isSafeInteger(revision.n) || revision.n < 2 || revision.n > MAX_REVISION) {
    throw validationError('A revision number must be a whole number from 2 to 999,999,999.', { field: 'revision' });
  }
  if (!(REVISION_KINDS as readonly string[]).includes(revision.kind)) {
    throw validationError('Unknown revision kind.', { field: 'revision' });
  }
  assertIso(revision.at, 'revision time');
  return `${REVISION_PREFIX}${revision.n} (${revision.kind}, ${revision.at})`;
}

export function sameRevision(a: Revision | null | undefined, b: Revision | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.n === b.n && a.kind === b.kind && a.at === b.at;
}

function levelLine(level: SecurityLevel): string {
  return `**Security Level**: ${level} (${LEVEL_NAMES[level]})`;
}

/**
 * Renders the plain block of an entry, ending with the closing `---` and a newline. This text is also what
 * the sealer seals.
 * @throws MemvaultError VALIDATION_ERROR for an entry the format cannot hold unambiguously (bad id, date, tag…).
 */
export function renderEntry(entry: MemoryEntry, revision: Revision | null = null): string {
  if (!ENTRY_ID.test(entry.id)) throw validationError('The entry id must be a ULID.', { field: 'id' });
  assertIso(entry.date, 'date');
  if (entry.eventDate !== null) assertIso(entry.eventDate, 'eventDate');
  if (!isCategory(entry.category) || entry.level !== levelOf(entry.category)) {
    throw validationError('The entry level must be the level of its category.', { field: 'level' });
  }
  for (const tag of entry.tags) {
    if (!isNormalTag(tag)) throw validationError('A tag is not in normal form.', { field: 'tags' });
  }
  for (const id of entry.related) {
    if (!ENTRY_ID.test(id)) throw validationError('A related memory id is not a ULID.', { field: 'related' });
  }
  if (!Number.isFinite(entry.confidence) || entry.confidence < 0 || entry.confidence > 1) {
    throw validationError('The confidence must be a number from 0 to 1.', { field: 'confidence' });
  }
  if (!(CHANNELS as readonly string[]).includes(entry.channel)) {
    throw validationError('Unknown channel.', { field: 'channel' });
  }
  if (!CHECKSUM.test(entry.checksum)) throw validationError('The checksum is malformed.', { field: 'checksum' });

  const lines = [
    `${ENTRY_HEADING}${entry.id}`,
    ...(revision === null ? [] : [revisionLine(revision)]),
    `**Date**: ${entry.date}`,
    `**Category**: ${entry.category}`,
    levelLine(entry.level),
    entry.tags.length === 0 ? '**Tags**:' : `**Tags**: ${entry.tags.join(', ')}`,
    '',
    '### Content',
    ...encodeSection(entry.content),
    '',
    '### AI Analysis',
    ...encodeSection(entry.analysis),
    '',
    '### Metadata',
    `- **Confidence**: ${String(entry.confidence)}`,
    `- **Related Memories**: ${entry.related.length === 0 ? 'none' : entry.related.join(', ')}`,
    `- **Emotional Context**: ${encodeInline(entry.emotionalContext)}`,
    `- **Event Date**: ${entry.eventDate ?? 'none'}`,
    `- **Channel**: ${entry.channel}`,
    `- **External ID**: ${encodeNullable(entry.externalId)}`,
    `- **Checksum**: ${entry.checksum}`,
    CLOSING,
  ];
  return `${lines.join('\n')}\n`;
}

/** Splits a block into lines, accepting it with or without its final newline. */
function blockLines(block: string): string[] {
  const lines = block.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The id in a `## Memory Entry #…` heading line, or null when the line is no heading or the id no ULID. */
export function headingId(line: string): string | null {
  if (!line.startsWith(ENTRY_HEADING)) return null;
  const id = line.slice(ENTRY_HEADING.length);
  return ENTRY_ID.test(id) ? id : null;
}

/** True when a block (or its first lines) is the sealed form. */
export function isSealedBlock(block: string): boolean {
  // The fence follows the heading, the revision line (later revisions) and the date line (levels 1–2).
  let at = 0;
  for (let line = 0; line < 3; line++) {
    const end = block.indexOf('\n', at);
    if (end < 0) return false;
    if (block.startsWith(SEALED_FENCE, end + 1)) return true;
    at = end + 1;
  }
  return false;
}

class LineReader {
  #i = 0;
  constructor(
    private readonly lines: readonly string[],
    private readonly id: string | null,
  ) {}

  fail(what: string): never {
    throw corruption(`Memory entry ${this.id ?? '(unknown id)'} is damaged: ${what} (line ${this.#i + 1}).`, {
      id: this.id,
      line: this.#i + 1,
    });
  }

  get index(): number {
    return this.#i;
  }

  peek(): string | undefined {
    return this.lines[this.#i];
  }

  next(): string {
    const line = this.lines[this.#i];
    if (line === undefined) this.fail('it ends early');
    this.#i++;
    return line;
  }

  exact(expected: string): void {
    if (this.next() !== expected) {
      this.#i--;
      this.fail(`expected "${expected}"`);
    }
  }

  field(prefix: string): string {
    const line = this.next();
    if (!line.startsWith(prefix)) {
      this.#i--;
      this.fail(`expected "${prefix.trim()}"`);
    }
    return line.slice(prefix.length);
  }

  /** Lines up to (not including) the line equal to `heading`; the last of them must be blank and is dropped. */
  section(heading: string): string[] {
    const start = this.#i;
    let end = start;
    while (end < this.lines.length && this.lines[end] !== heading) end++;
    if (end >= this.lines.length || end - start < 2 || this.lines[end - 1] !== '') this.fail(`no "${heading}"`);
    this.#i = end + 1;
    return this.lines.slice(start, end - 1);
  }

  end(): void {
    if (this.#i !== this.lines.length) this.fail('unexpected text after the closing ---');
  }
}

function parseIso(reader: LineReader, text: string, what: string): string {
  if (!isIsoUtc(text)) reader.fail(`the ${what} is not an ISO 8601 UTC time`);
  return text;
}

/** The optional revision line right after the heading. */
function parseRevision(r: LineReader): Revision | null {
  if (!r.peek()?.startsWith(REVISION_PREFIX)) return null;
  const m = REVISION_LINE.exec(r.next());
  if (!m || !isIsoUtc(m[3] ?? '') || Number(m[1]) < 2) r.fail('malformed revision line');
  return { n: Number(m[1]), kind: m[2] as RevisionKind, at: own(m[3] ?? '') };
}

/** Parses a plain entry block, ignoring its revision line (see `parseRevisionBlock`). */
export function parseEntry(block: string, userId: UserId): MemoryEntry {
  return parseRevisionBlock(block, userId).entry;
}

/**
 * Parses a plain entry block and verifies its checksum. `userId` is the owner of the file it came from (the
 * checksum covers it, so a block copied into another user's file fails).
 * @throws MemvaultError DATA_CORRUPTION naming the entry id and the line, for any deviation or a checksum mismatch.
 */
export function parseRevisionBlock(block: string, userId: UserId): { entry: MemoryEntry; revision: Revision | null } {
  const lines = blockLines(block);
  const id = headingId(lines[0] ?? '');
  const r: LineReader = new LineReader(lines, id);
  if (id === null) r.fail('the heading is not "## Memory Entry #<ULID>"');
  r.next();
  const revision = parseRevision(r);
  const date = parseIso(r, r.field('**Date**: '), 'date');
  const categoryText = r.field('**Category**: ');
  if (!isCategory(categoryText)) r.fail('unknown category');
  const category: Category = categoryText;
  const level = levelOf(category);
  if (r.next() !== levelLine(level)) r.fail('the security level does not match the category');
  const tagsText = r.field('**Tags**:');
  let tags: string[] = [];
  if (tagsText.length > 0) {
    if (!tagsText.startsWith(' ')) r.fail('malformed tags');
    tags = tagsText.slice(1).split(', ');
    if (!tags.every(isNormalTag)) r.fail('malformed tags');
  }
  r.exact('');
  r.exact('### Content');
  const content = decodeSection(r.section('### AI Analysis'), `content of memory entry ${id}`);
  const analysis = decodeSection(r.section('### Metadata'), `AI analysis of memory entry ${id}`);
  const confidenceText = r.field('- **Confidence**: ');
  const confidence = Number(confidenceText);
  if (!NUMBER.test(confidenceText) || !(confidence >= 0 && confidence <= 1)) r.fail('the confidence is not in [0, 1]');
  const relatedText = r.field('- **Related Memories**: ');
  const related = relatedText === 'none' ? [] : relatedText.split(', ');
  if (!related.every((x) => ENTRY_ID.test(x))) r.fail('a related memory id is malformed');
  const emotionalContext = decodeInline(r.field('- **Emotional Context**: '), `emotional context of entry ${id}`);
  const eventText = r.field('- **Event Date**: ');
  const eventDate = eventText === 'none' ? null : parseIso(r, eventText, 'event date');
  const channel = r.field('- **Channel**: ');
  if (!(CHANNELS as readonly string[]).includes(channel)) r.fail('unknown channel');
  const externalId = decodeNullable(r.field('- **External ID**: '), `external id of entry ${id}`);
  const checksum = r.field('- **Checksum**: ');
  r.exact(CLOSING);
  r.end();

  // Substrings of the file text would keep the whole file alive in memory as long as the entry is cached:
  // every kept string is copied out, and category and channel become the shared constants.
  const entry: MemoryEntry = {
    id: own(id),
    userId,
    date: own(date),
    eventDate: eventDate === null ? null : own(eventDate),
    category: CATEGORY_CONSTANT.get(category) ?? category,
    level,
    tags: tags.map(own),
    content: own(content),
    analysis: own(analysis),
    confidence,
    related: related.map(own),
    emotionalContext: own(emotionalContext),
    channel: CHANNEL_CONSTANT.get(channel) ?? (channel as Channel),
    externalId: externalId === null ? null : own(externalId),
    checksum: own(checksum),
  };
  if (entryChecksum(entry) !== checksum) {
    throw corruption(`Memory entry ${id} is damaged: its checksum does not match its content.`, { id });
  }
  return { entry, revision };
}

const CATEGORY_CONSTANT = new Map<string, Category>(CATEGORIES.map((c) => [c, c]));
const CHANNEL_CONSTANT = new Map<string, Channel>(CHANNELS.map((c) => [c, c]));

/**
 * A copy of `s` that does not point into a larger string. V8 represents `slice`/`split` results of 13 or more
 * characters as views of their parent, so one kept field would keep a whole file's text alive.
 */
export function own(s: string): string {
  if (s.length < 13) return s;
  // latin1 keeps one-byte strings one byte per character; utf16le copies anything else unit by unit, lone
  // surrogates included (a UTF-8 round trip would replace them).
  const encoding = ONE_BYTE.test(s) ? 'latin1' : 'utf16le';
  return Buffer.from(s, encoding).toString(encoding);
}

const ONE_BYTE = /^[\u0000-\u00ff]*$/;

/** The visible part and payload of a sealed block. */
export interface SealedBlock {
  readonly id: string;
  /** The message date, visible for levels 1–2 so date filters work without keys; null for levels 3–4. */
  readonly date: string | null;
  readonly payload: string;
  /** The revision line (shown outside the seal, and repeated inside it); null or absent for revision 1. */
  readonly revision?: Revision | null;
}

// A payload line: printable ASCII without back-tick, not starting with `#` or a space, not ending with a space,
// and not the closing `---`.
const PAYLOAD_LINE = /^[!-"$-_a-~](?:[ -_a-~]*[!-_a-~])?$/;

/** True when the vault can store `payload` inside its fence without it ever reading as structure. */
export function isStorablePayload(payload: string): boolean {
  if (payload.length === 0) return false;
  for (const line of payload.split('\n')) if (line === CLOSING || !PAYLOAD_LINE.test(line)) return false;
  return true;
}

/**
 * Renders the sealed form: the heading, the `**Date**` line when `date` is given (levels 1–2), the payload in
 * a ```` ```memvault-sealed ```` fence, and the closing `---`, ending with a newline.
 */
export function renderSealedEntry(block: SealedBlock): string {
  if (!ENTRY_ID.test(block.id)) throw validationError('The entry id must be a ULID.', { field: 'id' });
  if (block.date !== null) assertIso(block.date, 'date');
  if (!isStorablePayload(block.payload)) {
    throw validationError('The sealed payload must be non-empty printable ASCII without back-ticks.', {
      field: 'payload',
    });
  }
  const date = block.date === null ? '' : `**Date**: ${block.date}\n`;
  const revision = block.revision ? `${revisionLine(block.revision)}\n` : '';
  return `${ENTRY_HEADING}${block.id}\n${revision}${date}${SEALED_FENCE}\n${block.payload}\n${FENCE_END}\n${CLOSING}\n`;
}

/** Parses the sealed form (without opening it). @throws MemvaultError DATA_CORRUPTION */
export function parseSealedEntry(block: string): SealedBlock {
  const lines = blockLines(block);
  const id = headingId(lines[0] ?? '');
  const r: LineReader = new LineReader(lines, id);
  if (id === null) r.fail('the heading is not "## Memory Entry #<ULID>"');
  r.next();
  const revision = parseRevision(r);
  let date: string | null = null;
  if (r.peek()?.startsWith('**Date**: ')) date = parseIso(r, r.field('**Date**: '), 'date');
  r.exact(SEALED_FENCE);
  const start = r.index;
  let line = r.next();
  const payload: string[] = [];
  while (line !== FENCE_END) {
    payload.push(line);
    line = r.next();
  }
  const text = payload.join('\n');
  if (!isStorablePayload(text)) {
    throw corruption(`Memory entry ${id} is damaged: its sealed payload is malformed (line ${start + 1}).`, { id });
  }
  r.exact(CLOSING);
  r.end();
  return {
    id: own(id),
    date: date === null ? null : own(date),
    payload: own(text),
    ...(revision === null ? {} : { revision }),
  };
}
