import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { UserId } from '../core/entry.js';
import { corruption, storageError, validationError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import { writeFileAtomic } from '../infra/atomic-file.js';
import {
  type Connection,
  type DayResult,
  emptyInsightsState,
  type InsightsState,
  type InsightsStore,
} from '../ports/insights.js';
import type { EntryOpener, EntrySealer, SealContext } from '../ports/sealer.js';

/**
 * `users/<E164>/INSIGHTS.<E164>.sealed`: one header line, then the JSON state sealed to the person's level-1
 * key (bound to user, level 1, GENERAL, "insights"), or, when level 1 is kept plain, the JSON with a SHA-256
 * checksum in the header. The state is derived from level-1 memories only, so level 1 is the right seal.
 *
 * Format 2 (written since format 1 grew to ~18 MB at 100k memories and its load + save took half of a day's
 * processing): a day's connection that is the same as the one kept for its pair in `connections` is stored as
 * the string "<from> <to>" and restored from there on load. Nothing is lost: a connection that differs in any
 * field (a later day re-scored the pair) stays whole; in `connections` a connection leaves out its `from`, which
 * is the key it is listed under. Format 1 is still read.
 */
const MAGIC = 'memvault-insights';
const VERSION = '2';
const READABLE = new Set(['1', '2']);

export function insightsPath(dataDir: string, userId: UserId): string {
  if (!isUserId(userId)) {
    throw validationError('Not a valid user id: expected an E.164 phone number such as +14155550134.', {
      field: 'userId',
    });
  }
  return join(dataDir, 'users', userId, `INSIGHTS.${userId}.sealed`);
}

const sealContext = (userId: UserId): SealContext => ({ userId, level: 1, category: 'GENERAL', entryId: 'insights' });

export interface FsInsightsStoreOptions {
  readonly dataDir: string;
  readonly sealer: EntrySealer;
}

export class FsInsightsStore implements InsightsStore {
  readonly #dataDir: string;
  readonly #sealer: EntrySealer;

  constructor(options: FsInsightsStoreOptions) {
    this.#dataDir = options.dataDir;
    this.#sealer = options.sealer;
  }

  async load(userId: UserId, opener: EntryOpener): Promise<InsightsState> {
    const path = insightsPath(this.#dataDir, userId);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return emptyInsightsState();
      throw storageError('Could not read the insights file.', cause, { userId });
    }
    return decodeInsights(text, userId, opener);
  }

  async save(userId: UserId, state: InsightsState): Promise<void> {
    const path = insightsPath(this.#dataDir, userId);
    const text = await encodeInsights(this.#sealer, userId, state);
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await writeFileAtomic(path, text, { mode: 0o600 });
    } catch (cause) {
      throw storageError('Could not write the insights file.', cause, { userId });
    }
  }
}

/** Opens and checks a stored insights state (the file's text, or the database row's). @throws DATA_CORRUPTION */
export function decodeInsights(text: string, userId: UserId, opener: EntryOpener): InsightsState {
  const newline = text.indexOf('\n');
  const header = (newline < 0 ? text : text.slice(0, newline)).split(' ');
  const body = newline < 0 ? '' : text.slice(newline + 1);
  const version = header[1] ?? '';
  if (header[0] !== MAGIC || !READABLE.has(version)) {
    throw corruption('The stored insights state has an unknown format. Remove it and process the days again.', {
      userId,
    });
  }
  let json: string;
  if (header[2] === 'sealed') {
    json = opener.open(sealContext(userId), body);
  } else if (header[2] === 'plain' && header[3]) {
    if (createHash('sha256').update(body).digest('hex') !== header[3]) {
      throw corruption('The stored insights state fails its checksum.', { userId });
    }
    json = body;
  } else {
    throw corruption('The stored insights state has an unknown format.', { userId });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (cause) {
    throw corruption('The stored insights state does not hold valid JSON.', { userId }, cause);
  }
  const state = parsed as Partial<InsightsState> | null;
  if (state?.version !== 1 || typeof state.features !== 'object' || typeof state.days !== 'object') {
    throw corruption('The stored insights state holds an unknown version.', { userId });
  }
  const connections = version === '1' ? (state.connections ?? {}) : expandConnections(state.connections ?? {});
  return {
    version: 1,
    features: state.features ?? {},
    days: version === '1' ? (state.days ?? {}) : expandDays(state.days ?? {}, connections, userId),
    connections,
    postings: state.postings ?? {},
    linked: state.linked ?? {},
  };
}

/** The stored form of a state: sealed to the person's level-1 key, or plain JSON with its checksum. */
export async function encodeInsights(sealer: EntrySealer, userId: UserId, state: InsightsState): Promise<string> {
  const json = JSON.stringify({ ...state, days: compactDays(state), connections: compactConnections(state) });
  return sealer.seals(1)
    ? `${MAGIC} ${VERSION} sealed\n${await sealer.seal(sealContext(userId), json)}`
    : `${MAGIC} ${VERSION} plain ${createHash('sha256').update(json).digest('hex')}\n${json}`;
}

/** The pair's connection kept in `connections`, when it equals `c` field for field. */
function kept(state: Pick<InsightsState, 'connections'>, c: Connection): Connection | undefined {
  const current = state.connections[c.from]?.find((x) => x.to === c.to);
  if (!current) return undefined;
  const keys = Object.keys(c) as (keyof Connection)[];
  if (keys.length !== Object.keys(current).length) return undefined;
  return keys.every((k) => Object.hasOwn(current, k) && current[k] === c[k]) ? current : undefined;
}

/** Days with each connection that `connections` already holds replaced by "<from> <to>" (format 2). */
function compactDays(state: InsightsState): Record<string, unknown> {
  const days: Record<string, unknown> = {};
  for (const [day, result] of Object.entries(state.days)) {
    if (!Array.isArray(result?.connections)) {
      days[day] = result; // not a day this service wrote: stored as it is
      continue;
    }
    const connections = result.connections.map((c) =>
      !c.from.includes(' ') && !c.to.includes(' ') && kept(state, c) ? `${c.from} ${c.to}` : c,
    );
    days[day] = { ...result, connections };
  }
  return days;
}

/** The days of a format-2 state with their "<from> <to>" connections restored. @throws DATA_CORRUPTION */
function expandDays(
  days: Record<string, DayResult>,
  connections: Record<string, Connection[]>,
  userId: UserId,
): Record<string, DayResult> {
  const out: Record<string, DayResult> = {};
  for (const [day, result] of Object.entries(days)) {
    if (!Array.isArray(result?.connections)) {
      out[day] = result;
      continue;
    }
    const list = (result.connections as unknown[]).map((c): Connection => {
      if (typeof c !== 'string') return c as Connection;
      const [from = '', to = ''] = c.split(' ');
      const found = connections[from]?.find((x) => x.to === to);
      if (!found) {
        throw corruption('The stored insights state refers to a connection it does not hold.', { userId, day });
      }
      return { ...found };
    });
    out[day] = { ...result, connections: list };
  }
  return out;
}

/** `connections` with each `from` left out where it is the key the connection is listed under (format 2). */
function compactConnections(state: InsightsState): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [id, list] of Object.entries(state.connections)) {
    out[id] = list.map((c) => {
      if (c.from !== id) return c;
      const { from: _from, ...rest } = c;
      return rest;
    });
  }
  return out;
}

/** The `connections` of a format-2 state with each `from` restored from its key. */
function expandConnections(stored: Record<string, Connection[]>): Record<string, Connection[]> {
  const out: Record<string, Connection[]> = {};
  for (const [id, list] of Object.entries(stored)) {
    out[id] = Array.isArray(list) ? list.map((c) => (c && c.from === undefined ? { ...c, from: id } : c)) : list;
  }
  return out;
}
