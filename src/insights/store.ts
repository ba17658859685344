import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { UserId } from '../core/entry.js';
import { corruption, storageError, validationError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import { writeFileAtomic } from '../infra/atomic-file.js';
import { emptyInsightsState, type InsightsState, type InsightsStore } from '../ports/insights.js';
import type { EntryOpener, EntrySealer, SealContext } from '../ports/sealer.js';

/**
 * `users/<E164>/INSIGHTS.<E164>.sealed`: one header line, then the JSON state sealed to the person's level-1
 * key (bound to user, level 1, GENERAL, "insights"), or, when level 1 is kept plain, the JSON with a SHA-256
 * checksum in the header. The state is derived from level-1 memories only, so level 1 is the right seal.
 */
const MAGIC = 'memvault-insights';
const VERSION = '1';

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
  if (header[0] !== MAGIC || header[1] !== VERSION) {
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
  return {
    version: 1,
    features: state.features ?? {},
    days: state.days ?? {},
    connections: state.connections ?? {},
    postings: state.postings ?? {},
    linked: state.linked ?? {},
  };
}

/** The stored form of a state: sealed to the person's level-1 key, or plain JSON with its checksum. */
export async function encodeInsights(sealer: EntrySealer, userId: UserId, state: InsightsState): Promise<string> {
  const json = JSON.stringify(state);
  return sealer.seals(1)
    ? `${MAGIC} ${VERSION} sealed\n${await sealer.seal(sealContext(userId), json)}`
    : `${MAGIC} ${VERSION} plain ${createHash('sha256').update(json).digest('hex')}\n${json}`;
}
