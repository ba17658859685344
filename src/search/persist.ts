import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { UserId } from '../core/entry.js';
import { corruption, storageError } from '../core/errors.js';
import { writeFileAtomic } from '../infra/atomic-file.js';
import type { EntryOpener, EntrySealer, SealContext } from '../ports/sealer.js';

/**
 * The persisted level-1 search index of one user: `users/<E164>/INDEX.<E164>.sealed`.
 *
 * Layout: one header line, then the body.
 *   `memvault-search-index 1 sealed\n<armored payload>`: the body is `sealer.seal(ctx, base64(db))` bound to
 *   (user, level 1, GENERAL, "search-index"), so it opens only for this user's level-1 key and tampering fails.
 *   `memvault-search-index 1 plain <sha256 hex>\n<base64(db)>`: when level 1 is kept plain (MEMVAULT_LEVEL1=plain),
 *   the checksum catches damage.
 * Only level-1 entries are ever in it; levels 2–4 stay in memory.
 */
const MAGIC = 'memvault-search-index';
const VERSION = '1';

export function indexPath(dataDir: string, userId: UserId): string {
  return join(dataDir, 'users', userId, `INDEX.${userId}.sealed`);
}

export function indexSealContext(userId: UserId): SealContext {
  return { userId, level: 1, category: 'GENERAL', entryId: 'search-index' };
}

/** Encodes the database bytes, sealed when the sealer seals level 1. */
export async function encodeIndex(userId: UserId, bytes: Buffer, sealer: EntrySealer): Promise<string> {
  const body = bytes.toString('base64');
  if (sealer.seals(1)) {
    const payload = await sealer.seal(indexSealContext(userId), body);
    return `${MAGIC} ${VERSION} sealed\n${payload}`;
  }
  const sum = createHash('sha256').update(body).digest('hex');
  return `${MAGIC} ${VERSION} plain ${sum}\n${body}`;
}

/**
 * Decodes a persisted index back into database bytes.
 * @throws MemvaultError DATA_CORRUPTION when the file is damaged, of another version, or does not open;
 *   SECURITY_ERROR (from the opener) when level 1 is locked.
 */
export function decodeIndex(userId: UserId, text: string, opener: EntryOpener): Buffer {
  const newline = text.indexOf('\n');
  const header = (newline < 0 ? text : text.slice(0, newline)).split(' ');
  const body = newline < 0 ? '' : text.slice(newline + 1);
  if (header[0] !== MAGIC || header[1] !== VERSION) throw corruption('The search index file has an unknown format.');
  let base64: string;
  if (header[2] === 'sealed') {
    base64 = opener.open(indexSealContext(userId), body);
  } else if (header[2] === 'plain' && header[3]) {
    if (createHash('sha256').update(body).digest('hex') !== header[3]) {
      throw corruption('The search index file fails its checksum.');
    }
    base64 = body;
  } else {
    throw corruption('The search index file has an unknown format.');
  }
  return Buffer.from(base64, 'base64');
}

/** Reads the file, or null when there is none. */
export async function readIndexFile(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw storageError('Could not read the search index file.', cause);
  }
}

/** Writes atomically and durably (temp → fsync → rename → fsync the directory); the user folder is created. */
export async function writeIndexFile(path: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, text, { mode: 0o600 });
  } catch (cause) {
    throw storageError('Could not write the search index file.', cause);
  }
}

export async function removeIndexFile(path: string): Promise<void> {
  await rm(path, { force: true });
}
