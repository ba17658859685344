import { createHmac, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import type { UserId } from '../core/entry.js';
import { corruption, validationError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import type { DocumentStore } from '../ports/documents.js';
import { DEFAULT_LLM_LEVEL, type PersonSettings, type PersonSettingsStore } from '../ports/insights.js';

/**
 * `users/<E164>/SETTINGS.<E164>.json`: a person's settings for the Daily Memory Manager, as JSON with an
 * HMAC-SHA256 under a key derived from the master key. It holds no secret (a level number), but it decides what
 * an LLM may read, so a file edited outside memvault is refused (DATA_CORRUPTION) rather than obeyed. In PostgreSQL
 * mode the same text is a row of `mv_documents` (src/ports/documents.ts), so every server obeys the same level.
 */
const FORMAT = 'memvault-settings 1';

const Stored = z.strictObject({
  format: z.literal(FORMAT),
  userId: z.string(),
  llmLevel: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  updatedAt: z.string().nullable(),
  mac: z.string().regex(/^[0-9a-f]{64}$/),
});

export function settingsPath(dataDir: string, userId: UserId): string {
  return join(dataDir, 'users', checkUser(userId), settingsName(userId));
}

const settingsName = (userId: UserId) => `SETTINGS.${userId}.json`;

function checkUser(userId: UserId): UserId {
  if (!isUserId(userId)) {
    throw validationError('Not a valid user id: expected an E.164 phone number such as +14155550134.', {
      field: 'userId',
    });
  }
  return userId;
}

export interface FsSettingsStoreOptions {
  /** Where the settings live: the data dir's files (`FileDocuments`) or PostgreSQL's `mv_documents`. */
  readonly documents: DocumentStore;
  /** 32 bytes, derived from the master key for this file alone. */
  readonly macKey: Uint8Array;
}

export class FsSettingsStore implements PersonSettingsStore {
  readonly #docs: DocumentStore;
  readonly #macKey: Uint8Array;

  constructor(options: FsSettingsStoreOptions) {
    if (options.macKey.length < 32) throw new RangeError('The settings MAC key must be 32 bytes.');
    this.#docs = options.documents;
    this.#macKey = options.macKey;
  }

  #mac(userId: UserId, s: PersonSettings): string {
    return createHmac('sha256', this.#macKey)
      .update(JSON.stringify([FORMAT, userId, s.llmLevel, s.updatedAt]))
      .digest('hex');
  }

  async load(userId: UserId): Promise<PersonSettings> {
    const text = (await this.#docs.read(checkUser(userId), settingsName(userId)))?.text;
    if (text === undefined) return { llmLevel: DEFAULT_LLM_LEVEL, updatedAt: null };
    const damaged = () =>
      corruption(
        'The settings file was changed outside memvault or is damaged; until it is set again the LLM reads nothing. ' +
          'Set it again with `memvault settings llm --user <phone> --level N` or PUT /v1/settings/llm.',
        { userId },
      );
    let parsed: z.infer<typeof Stored>;
    try {
      parsed = Stored.parse(JSON.parse(text));
    } catch {
      throw damaged();
    }
    const settings: PersonSettings = { llmLevel: parsed.llmLevel, updatedAt: parsed.updatedAt };
    const expected = Buffer.from(this.#mac(userId, settings), 'hex');
    const actual = Buffer.from(parsed.mac, 'hex');
    if (parsed.userId !== userId || !timingSafeEqual(expected, actual)) throw damaged();
    return settings;
  }

  async save(userId: UserId, settings: PersonSettings): Promise<void> {
    const body = {
      format: FORMAT,
      userId,
      llmLevel: settings.llmLevel,
      updatedAt: settings.updatedAt,
      mac: this.#mac(userId, settings),
    };
    await this.#docs.write(checkUser(userId), settingsName(userId), `${JSON.stringify(body, null, 2)}\n`);
  }
}
