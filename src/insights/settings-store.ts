import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { UserId } from '../core/entry.js';
import { corruption, storageError, validationError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import { writeFileAtomic } from '../infra/atomic-file.js';
import { DEFAULT_LLM_LEVEL, type PersonSettings, type PersonSettingsStore } from '../ports/insights.js';

/**
 * `users/<E164>/SETTINGS.<E164>.json`: a person's settings for the Daily Memory Manager, as JSON with an
 * HMAC-SHA256 under a key derived from the master key. It holds no secret (a level number), but it decides what
 * an LLM may read, so a file edited outside memvault is refused (DATA_CORRUPTION) rather than obeyed.
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
  if (!isUserId(userId)) {
    throw validationError('Not a valid user id: expected an E.164 phone number such as +14155550134.', {
      field: 'userId',
    });
  }
  return join(dataDir, 'users', userId, `SETTINGS.${userId}.json`);
}

export interface FsSettingsStoreOptions {
  readonly dataDir: string;
  /** 32 bytes, derived from the master key for this file alone. */
  readonly macKey: Uint8Array;
}

export class FsSettingsStore implements PersonSettingsStore {
  readonly #dataDir: string;
  readonly #macKey: Uint8Array;

  constructor(options: FsSettingsStoreOptions) {
    if (options.macKey.length < 32) throw new RangeError('The settings MAC key must be 32 bytes.');
    this.#dataDir = options.dataDir;
    this.#macKey = options.macKey;
  }

  #mac(userId: UserId, s: PersonSettings): string {
    return createHmac('sha256', this.#macKey)
      .update(JSON.stringify([FORMAT, userId, s.llmLevel, s.updatedAt]))
      .digest('hex');
  }

  async load(userId: UserId): Promise<PersonSettings> {
    const path = settingsPath(this.#dataDir, userId);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return { llmLevel: DEFAULT_LLM_LEVEL, updatedAt: null };
      throw storageError('Could not read the settings file.', cause, { userId });
    }
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
    const path = settingsPath(this.#dataDir, userId);
    const body = {
      format: FORMAT,
      userId,
      llmLevel: settings.llmLevel,
      updatedAt: settings.updatedAt,
      mac: this.#mac(userId, settings),
    };
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await writeFileAtomic(path, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    } catch (cause) {
      throw storageError('Could not write the settings file.', cause, { userId });
    }
  }
}
