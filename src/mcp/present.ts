import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  CATEGORIES,
  type Category,
  categoryLabel,
  LEVEL_NAMES,
  LEVELS,
  levelOf,
  type SecurityLevel,
} from '../core/category.js';
import type { MemoryEntry } from '../core/entry.js';
import { validationError } from '../core/errors.js';
import type { MemoryService, Principal } from '../services/types.js';

/** Longest content shown in a list; longer memories end with a pointer to `get_memory`. */
export const LIST_CONTENT_CHARS = 280;

/** ULIDs, as the vault writes them (Crockford base-32); lower case is accepted. */
export const MemoryId = z
  .string()
  .regex(
    /^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$/,
    'Expected a memory id: 26 characters such as 01JD3Q2X8M4K5N6P7R8S9T0V1W',
  )
  .describe('The memory’s id (26 characters), as search_memories, timeline or remember returned it');

/** Dates a person could mean: 1900 to 2199. "9999-12-31" is a slip, not a date to search or store. */
const EARLIEST = Date.parse('1900-01-01T00:00:00Z');
const LATEST = Date.parse('2200-01-01T00:00:00Z');

/** An ISO 8601 date within 1900–2199, with a message a model can act on. */
export const isoDate = z
  .string()
  .max(40)
  .refine((v) => !Number.isNaN(Date.parse(v)), 'Expected an ISO 8601 date such as 2026-11-26 or 2026-11-26T18:30:00Z')
  .refine((v) => {
    const t = Date.parse(v);
    return Number.isNaN(t) || (t >= EARLIEST && t < LATEST);
  }, 'The date must fall between 1900 and 2199');

export const categoryList = z
  .array(z.enum(CATEGORIES))
  .max(5)
  .describe('Only these categories (CHRONOLOGICAL, GENERAL: level 1; CONFIDENTIAL: 2; SECRET: 3; ULTRASECRET: 4)');

/** The memory as lists show it: content cut at LIST_CONTENT_CHARS with `truncated` set. */
export const BriefSchema = z.object({
  id: z.string(),
  date: z.string().describe('When it was written (ISO 8601 UTC)'),
  eventDate: z.string().nullable().describe('When it happened, when the message said so'),
  category: z.enum(CATEGORIES),
  level: z.number().int().min(1).max(4),
  tags: z.array(z.string()),
  content: z.string(),
  truncated: z.boolean().describe('True when content was cut: call get_memory with the id for all of it'),
});
export type Brief = z.infer<typeof BriefSchema>;

export function brief(entry: MemoryEntry): Brief {
  const long = entry.content.length > LIST_CONTENT_CHARS;
  return {
    id: entry.id,
    date: entry.date,
    eventDate: entry.eventDate,
    category: entry.category,
    level: entry.level,
    tags: [...entry.tags],
    content: long ? `${cut(entry.content, LIST_CONTENT_CHARS)}…` : entry.content,
    truncated: long,
  };
}

/** Cuts at a code point boundary, never inside a surrogate pair. */
function cut(text: string, chars: number): string {
  return Array.from(text.slice(0, chars + 1))
    .join('')
    .slice(0, chars)
    .replace(/[\uD800-\uDBFF]$/, '');
}

/** One list line: date, category, content (cut, with the pointer to get_memory), tags and id. */
export function line(entry: MemoryEntry): string {
  const b = brief(entry);
  const tags = b.tags.length > 0 ? ` #${b.tags.join(' #')}` : '';
  const more = b.truncated ? ' [truncated: use get_memory for the whole text]' : '';
  return `- ${b.date.slice(0, 16).replace('T', ' ')} [${categoryLabel(b.category)}] ${b.content}${more}${tags} (id ${b.id})`;
}

export const MemorySchema = BriefSchema.omit({ truncated: true }).extend({
  related: z.array(z.string()).describe('Ids of related memories (related_memories reads the open ones)'),
  emotionalContext: z.string(),
  channel: z.string().describe('Where it came from: web, cli, mcp, import, telegram…'),
});

export function full(entry: MemoryEntry): z.infer<typeof MemorySchema> {
  return {
    id: entry.id,
    date: entry.date,
    eventDate: entry.eventDate,
    category: entry.category,
    level: entry.level,
    tags: [...entry.tags],
    content: entry.content,
    related: [...entry.related],
    emotionalContext: entry.emotionalContext,
    channel: entry.channel,
  };
}

export function fullText(entry: MemoryEntry): string {
  const lines = [
    `# Memory ${entry.id}`,
    `Written: ${entry.date}`,
    ...(entry.eventDate ? [`Happened: ${entry.eventDate}`] : []),
    `Category: ${categoryLabel(entry.category)} (level ${entry.level}, ${LEVEL_NAMES[entry.level]})`,
    ...(entry.tags.length > 0 ? [`Tags: ${entry.tags.join(', ')}`] : []),
    ...(entry.related.length > 0 ? [`Related: ${entry.related.join(', ')}`] : []),
    '',
    entry.content,
  ];
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Levels: which are open to this session, and what sits behind the locked ones.

export const LockedSchema = z.object({
  level: z.number().int().min(2).max(4),
  name: z.string(),
  count: z.number().int().min(0).describe('Memories at this level (within the window when windowed is true)'),
  windowed: z
    .boolean()
    .describe('True when the count respects the date window; levels 3–4 seal their dates, so they count all time'),
});
export type Locked = z.infer<typeof LockedSchema>;

export const LevelsSchema = {
  openLevels: z.array(z.number().int().min(1).max(4)).describe('Levels this session can read now'),
  locked: z.array(LockedSchema).describe('Levels this session cannot read, with how many memories each holds'),
};

export function openLevels(principal: Principal): SecurityLevel[] {
  return LEVELS.filter((level) => principal.opener.canOpen(level));
}

/**
 * How many memories sit at each level the session cannot open. Level 2 keeps its dates visible, so its count
 * respects the window; levels 3–4 seal their dates with the content, so a window cannot be applied without the
 * keys: their count is for all time and says so (`windowed: false`).
 */
export async function lockedCounts(
  memory: MemoryService,
  principal: Principal,
  window: { from?: string; to?: string; categories?: readonly Category[] },
): Promise<Locked[]> {
  const wanted = new Set((window.categories ?? CATEGORIES).map(levelOf));
  const out: Locked[] = [];
  for (const level of LEVELS) {
    if (!wanted.has(level) || principal.opener.canOpen(level)) continue;
    const windowed = level <= 2;
    const result = await memory.list(principal, {
      levels: [level],
      ...(window.categories ? { categories: window.categories } : {}),
      ...(windowed && window.from ? { from: window.from } : {}),
      ...(windowed && window.to ? { to: window.to } : {}),
      limit: 0,
    });
    if (result.locked > 0) out.push({ level, name: LEVEL_NAMES[level], count: result.locked, windowed });
  }
  return out;
}

/** "Level 2 (Confidential) is locked: 3 memories in this window. Levels 3 (Secret) …" or nothing. */
export function lockedText(locked: readonly Locked[], where: string): string | null {
  if (locked.length === 0) return null;
  const parts = locked.map((l) => {
    const n = `${l.count} ${l.count === 1 ? 'memory' : 'memories'}`;
    return l.windowed
      ? `level ${l.level} (${l.name}) holds ${n} ${where}`
      : `level ${l.level} (${l.name}) holds ${n} in all (its dates are sealed too, so they cannot be matched to ${where})`;
  });
  return `Locked, not shown: ${parts.join('; ')}. The person unlocks levels in the memvault app; this tool cannot.`;
}

// ---------------------------------------------------------------------------------------------------------
// Cursors: opaque to the client, bound to the request they continue.

const CursorBody = z.object({ v: z.literal(1), tool: z.string(), offset: z.number().int().min(0), bind: z.string() });

/** A digest of the arguments a cursor continues, so a cursor cannot be replayed on another query. */
export function bindingOf(args: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(args)).digest('base64url').slice(0, 16);
}

export function encodeCursor(tool: string, offset: number, bind: string): string {
  return Buffer.from(JSON.stringify({ v: 1, tool, offset, bind }), 'utf8').toString('base64url');
}

/** @throws VALIDATION_ERROR when the cursor is not one this tool gave for these arguments. */
export function decodeCursor(tool: string, cursor: string, bind: string): number {
  let parsed: z.infer<typeof CursorBody> | null = null;
  try {
    const result = CursorBody.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (result.success) parsed = result.data;
  } catch {
    parsed = null;
  }
  if (!parsed || parsed.tool !== tool) {
    throw validationError(`This cursor was not given by ${tool}. Call ${tool} again without a cursor.`, {
      field: 'cursor',
    });
  }
  if (parsed.bind !== bind) {
    throw validationError(
      `This cursor belongs to a ${tool} call with other arguments. Repeat the same arguments with the cursor, or start again without it.`,
      { field: 'cursor' },
    );
  }
  return parsed.offset;
}

export const cursorArg = z.string().max(400).describe('nextCursor from the previous page; repeat the same arguments');
