import { isCategory, levelOf } from '../core/category.js';
import { withChecksum } from '../core/checksum.js';
import { CHANNELS, type EntryPatch, type MemoryEntry, type NewEntry, type UserId } from '../core/entry.js';
import { validationError } from '../core/errors.js';
import { ENTRY_ID, MAX_TAG_LENGTH, MAX_TAGS, stripUnsafeCharacters } from './markdown-codec.js';

/** Limits on the fields beside the content (the content limit is the vault's `maxContentBytes`). */
export const LIMITS = {
  analysisBytes: 16_384,
  emotionalContextChars: 500,
  externalIdChars: 200,
  related: 200,
} as const;

/**
 * Normalises tags: whitespace runs and commas become one space, control characters go, a leading `#` is dropped,
 * ends are trimmed, empty tags are dropped, duplicates (case-insensitive) keep their first spelling.
 * @throws MemvaultError VALIDATION_ERROR for a tag longer than 64 characters or more than 32 tags.
 */
export function normalizeTags(tags: readonly unknown[]): string[] {
  if (!Array.isArray(tags)) throw validationError('Tags must be a list of strings.', { field: 'tags' });
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of tags) {
    if (typeof raw !== 'string') throw validationError('Tags must be a list of strings.', { field: 'tags' });
    const tag = stripUnsafeCharacters(raw.normalize('NFC'))
      .replace(/[\s,]+/gu, ' ')
      .trim()
      .replace(/^[#\s]+/u, '');
    if (tag.length === 0) continue;
    if (tag.length > MAX_TAG_LENGTH) {
      throw validationError(`A tag is longer than ${MAX_TAG_LENGTH} characters; shorten it.`, { field: 'tags' });
    }
    const key = tag.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(tag);
  }
  if (out.length > MAX_TAGS) throw validationError(`An entry holds at most ${MAX_TAGS} tags.`, { field: 'tags' });
  return out;
}

/**
 * Parses a time given as ISO 8601 (any offset) and returns it in the vault's form, UTC with milliseconds.
 * @throws MemvaultError VALIDATION_ERROR naming the field for anything else.
 */
export function toIsoTime(value: unknown, field: string): string {
  const bad = () => validationError(`The ${field} must be an ISO 8601 time such as 2026-11-26T18:04:49Z.`, { field });
  if (typeof value !== 'string' || value.length === 0 || value.length > 40) throw bad();
  const parts =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i.exec(value);
  if (!parts) throw bad();
  // Date.parse rolls 30 February over into March; a calendar check refuses it.
  const [year, month, day, hour, minute, second] = parts.slice(1, 7).map((p) => Number(p ?? 0)) as number[];
  const daysInMonth = new Date(Date.UTC(year ?? 0, month ?? 0, 0)).getUTCDate();
  if (
    !month ||
    month > 12 ||
    !day ||
    day > daysInMonth ||
    (hour ?? 0) > 23 ||
    (minute ?? 0) > 59 ||
    (second ?? 0) > 59
  ) {
    throw bad();
  }
  // A time without an offset is taken as UTC (JavaScript would read it in the process's local zone).
  let normal = value.replace(' ', 'T');
  if (normal.includes('T') && !/(?:Z|[+-]\d{2}:?\d{2})$/i.test(normal)) normal += 'Z';
  const time = Date.parse(normal);
  if (!Number.isFinite(time)) throw bad();
  const iso = new Date(time).toISOString();
  if (!/^\d{4}-/.test(iso) || iso.startsWith('0000')) throw bad();
  return iso;
}

function text(value: unknown, field: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw validationError(`The ${field} must be text.`, { field });
  return value;
}

function checkContent(content: unknown, maxBytes: number): string {
  if (typeof content !== 'string') throw validationError('The content must be text.', { field: 'content' });
  if (content.trim().length === 0)
    throw validationError('The content is empty: there is nothing to remember.', {
      field: 'content',
    });
  const bytes = Buffer.byteLength(content, 'utf8');
  if (bytes > maxBytes) {
    throw validationError(`The content is ${bytes} bytes; the limit is ${maxBytes}. Split it into several memories.`, {
      field: 'content',
    });
  }
  return content;
}

function checkAnalysis(value: unknown, fallback: string): string {
  const analysis = text(value, 'analysis', fallback);
  if (Buffer.byteLength(analysis, 'utf8') > LIMITS.analysisBytes) {
    throw validationError(`The AI analysis is longer than ${LIMITS.analysisBytes} bytes.`, { field: 'analysis' });
  }
  return analysis;
}

function checkEmotion(value: unknown, fallback: string): string {
  const emotion = text(value, 'emotionalContext', fallback);
  if (emotion.length > LIMITS.emotionalContextChars) {
    throw validationError(`The emotional context is longer than ${LIMITS.emotionalContextChars} characters.`, {
      field: 'emotionalContext',
    });
  }
  return emotion;
}

function checkConfidence(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw validationError('The confidence must be a number from 0 to 1.', { field: 'confidence' });
  }
  return value === 0 ? 0 : value; // folds -0, which the text form cannot tell from 0
}

function checkRelated(value: unknown, self: string, fallback: readonly string[]): string[] {
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value)) throw validationError('Related memories must be a list of ids.', { field: 'related' });
  const out: string[] = [];
  for (const id of value) {
    if (typeof id !== 'string' || !ENTRY_ID.test(id)) {
      throw validationError('A related memory id is not a memory id (ULID).', { field: 'related' });
    }
    if (id !== self && !out.includes(id)) out.push(id);
  }
  if (out.length > LIMITS.related) {
    throw validationError(`An entry links at most ${LIMITS.related} related memories.`, { field: 'related' });
  }
  return out;
}

function checkEventDate(value: unknown, fallback: string | null): string | null {
  if (value === undefined) return fallback;
  if (value === null) return null;
  return toIsoTime(value, 'eventDate');
}

/**
 * Validates a new entry and builds the stored form: level from the category, normalised dates and tags,
 * defaults for optional fields, checksum.
 * @throws MemvaultError VALIDATION_ERROR naming the field.
 */
export function buildEntry(userId: UserId, id: string, input: NewEntry, maxContentBytes: number): MemoryEntry {
  if (typeof input !== 'object' || input === null) throw validationError('The entry must be an object.');
  if (!isCategory(input.category)) throw validationError('Unknown category.', { field: 'category' });
  if (!(CHANNELS as readonly string[]).includes(input.channel)) {
    throw validationError(`Unknown channel. Use one of: ${CHANNELS.join(', ')}.`, { field: 'channel' });
  }
  let externalId: string | null = null;
  if (input.externalId !== undefined && input.externalId !== null) {
    if (typeof input.externalId !== 'string' || input.externalId.length === 0) {
      throw validationError('The external id must be non-empty text.', { field: 'externalId' });
    }
    if (input.externalId.length > LIMITS.externalIdChars) {
      throw validationError(`The external id is longer than ${LIMITS.externalIdChars} characters.`, {
        field: 'externalId',
      });
    }
    externalId = input.externalId;
  }
  return withChecksum({
    id,
    userId,
    date: toIsoTime(input.date, 'date'),
    eventDate: checkEventDate(input.eventDate, null),
    category: input.category,
    level: levelOf(input.category),
    tags: normalizeTags(input.tags ?? []),
    content: checkContent(input.content, maxContentBytes),
    analysis: checkAnalysis(input.analysis, ''),
    confidence: checkConfidence(input.confidence, 1),
    related: checkRelated(input.related, id, []),
    emotionalContext: checkEmotion(input.emotionalContext, ''),
    channel: input.channel,
    externalId,
  });
}

/**
 * Applies a person's change to a stored entry: validated like a new entry, level follows the category,
 * checksum recomputed. Id, dates of receipt, channel and external id never change.
 */
export function applyPatch(entry: MemoryEntry, patch: EntryPatch, maxContentBytes: number): MemoryEntry {
  if (typeof patch !== 'object' || patch === null) throw validationError('The change must be an object.');
  if (patch.category !== undefined && !isCategory(patch.category)) {
    throw validationError('Unknown category.', { field: 'category' });
  }
  const category = patch.category ?? entry.category;
  return withChecksum({
    id: entry.id,
    userId: entry.userId,
    date: entry.date,
    eventDate: checkEventDate(patch.eventDate, entry.eventDate),
    category,
    level: levelOf(category),
    tags: patch.tags === undefined ? [...entry.tags] : normalizeTags(patch.tags),
    content: patch.content === undefined ? entry.content : checkContent(patch.content, maxContentBytes),
    analysis: checkAnalysis(patch.analysis, entry.analysis),
    confidence: checkConfidence(patch.confidence, entry.confidence),
    related: checkRelated(patch.related, entry.id, entry.related),
    emotionalContext: checkEmotion(patch.emotionalContext, entry.emotionalContext),
    channel: entry.channel,
    externalId: entry.externalId,
  });
}
