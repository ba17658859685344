import { randomFillSync } from 'node:crypto';
import { type Category, isCategory, isSecurityLevel, type SecurityLevel } from '../core/category.js';
import type { MemoryEntry } from '../core/entry.js';
import { MemvaultError, securityError, validationError } from '../core/errors.js';
import type { EntryFilter } from '../ports/vault.js';
import { toIsoTime } from './entry-rules.js';
import { ENTRY_ID } from './markdown-codec.js';

/*
 * The adapter-independent half of reading a vault: filter checks, ordering and paging, the id check and the
 * errors every adapter gives the same way. The file vault and the PostgreSQL vault both use these.
 */

/** Largest `limit` a read accepts. */
const MAX_LIMIT = 100_000;

/** An entry with what filters and ordering compare, computed once: numbers compare far faster than strings. */
export interface Indexed {
  readonly entry: MemoryEntry;
  readonly tagsLower: readonly string[];
  readonly time: number;
  readonly eventTime: number | null;
}

export interface Opened extends Indexed {
  readonly payload: string;
}

export function indexed(entry: MemoryEntry): Indexed {
  return {
    entry,
    tagsLower: entry.tags.map((t) => t.toLowerCase()),
    time: Date.parse(entry.date),
    eventTime: entry.eventDate === null ? null : Date.parse(entry.eventDate),
  };
}

/**
 * A PRNG for ulidx from the system CSPRNG, drawn 4 KiB at a time: ulidx asks for one number per character,
 * and one `randomFillSync` call per character is most of the cost of an id.
 */
export function bufferedRandom(): () => number {
  const pool = new Uint32Array(1024);
  let next = pool.length;
  return () => {
    if (next === pool.length) {
      randomFillSync(pool);
      next = 0;
    }
    return (pool[next++] ?? 0) / 2 ** 32;
  };
}

export function reasonOf(error: unknown): string {
  return error instanceof MemvaultError ? error.message : 'unreadable entry';
}

export function lockedLevel(level: SecurityLevel): MemvaultError {
  return securityError(
    'insufficient_permissions',
    `Level ${level} is locked: unlock it to read or change this memory.`,
    {
      level,
    },
  );
}

export function checkId(id: string): void {
  if (typeof id !== 'string' || !ENTRY_ID.test(id)) {
    throw validationError('Not a memory id: expected a 26-character ULID.', { field: 'id' });
  }
}

export interface CheckedFilter {
  readonly categories: Set<Category> | null;
  readonly levels: Set<SecurityLevel> | null;
  readonly from: string | null;
  readonly to: string | null;
  readonly dateField: 'date' | 'eventDate';
  readonly tags: readonly string[];
  readonly externalId: string | null;
  readonly limit: number | null;
  readonly offset: number;
  readonly order: 'asc' | 'desc';
}

export function checkFilter(filter: EntryFilter): CheckedFilter {
  const categories = filter.categories === undefined ? null : new Set(filter.categories);
  if (categories && ![...categories].every(isCategory))
    throw validationError('Unknown category in the filter.', { field: 'categories' });
  const levels = filter.levels === undefined ? null : new Set(filter.levels);
  if (levels && ![...levels].every(isSecurityLevel))
    throw validationError('Levels must be 1 to 4.', { field: 'levels' });
  const dateField = filter.dateField ?? 'date';
  if (dateField !== 'date' && dateField !== 'eventDate') {
    throw validationError('dateField must be "date" or "eventDate".', { field: 'dateField' });
  }
  const order = filter.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw validationError('order must be "asc" or "desc".', { field: 'order' });
  const whole = (value: number | undefined, field: string, max: number): number | null => {
    if (value === undefined) return null;
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw validationError(`${field} must be a whole number from 0 to ${max}.`, { field });
    }
    return value;
  };
  if (filter.tags !== undefined && !Array.isArray(filter.tags))
    throw validationError('tags must be a list.', { field: 'tags' });
  if (filter.externalId !== undefined && typeof filter.externalId !== 'string') {
    throw validationError('externalId must be text.', { field: 'externalId' });
  }
  const from = filter.from === undefined ? null : toIsoTime(filter.from, 'from');
  const to = filter.to === undefined ? null : toIsoTime(filter.to, 'to');
  return {
    categories,
    levels,
    from,
    to,
    dateField,
    tags: (filter.tags ?? [])
      .map((t) =>
        String(t)
          .trim()
          .replace(/^#+\s*/u, '')
          .toLowerCase(),
      )
      .filter((t) => t.length > 0),
    externalId: filter.externalId ?? null,
    limit: whole(filter.limit, 'limit', MAX_LIMIT),
    offset: whole(filter.offset, 'offset', Number.MAX_SAFE_INTEGER) ?? 0,
    order,
  };
}

export interface Match {
  /** Epoch milliseconds of the ordering date. */
  readonly key: number;
  readonly id: string;
  /** Null for a sealed entry ordered by its visible (levels 1–2) or known (3–4) dates and not opened yet. */
  readonly entry: MemoryEntry | null;
}

export const ascending = (a: Match, b: Match) =>
  a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/**
 * Orders matches by (date key, id) and returns the requested page. Each file's matches come in append order,
 * which is nearly always date order: sorted runs are merged from the wanted end, taking only the page, so a
 * read costs one scan however many entries match. Unsorted runs (an import of old messages) are sorted first.
 */
export function select(runs: Match[][], order: 'asc' | 'desc', offset: number, limit: number | null): Match[] {
  const total = runs.reduce((n, run) => n + run.length, 0);
  const want = limit === null ? total : Math.min(total, offset + limit);
  if (offset >= want) return [];
  for (const run of runs) {
    for (let i = 1; i < run.length; i++) {
      if (ascending(run[i - 1] as Match, run[i] as Match) > 0) {
        run.sort(ascending);
        break;
      }
    }
  }
  const desc = order === 'desc';
  const cursors = runs.map((run) => (desc ? run.length - 1 : 0));
  const page: Match[] = [];
  for (let taken = 0; taken < want; taken++) {
    let bestRun = -1;
    let best: Match | undefined;
    for (let r = 0; r < runs.length; r++) {
      const candidate = runs[r]?.[cursors[r] ?? -1];
      if (candidate === undefined) continue;
      if (best === undefined || (desc ? ascending(candidate, best) > 0 : ascending(candidate, best) < 0)) {
        best = candidate;
        bestRun = r;
      }
    }
    if (best === undefined) break;
    cursors[bestRun] = (cursors[bestRun] ?? 0) + (desc ? -1 : 1);
    if (taken >= offset) page.push(best);
  }
  return page;
}
