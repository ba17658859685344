import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { corruption, storageError } from '../core/errors.js';
import { writeFileAtomic } from '../infra/atomic-file.js';
import type { EntryOpener, EntrySealer, SealContext } from '../ports/sealer.js';

/**
 * The persisted search index of one user, one file per persisted level:
 *   level 1: `users/<E164>/INDEX.<E164>.sealed`
 *   level 2: `users/<E164>/INDEX.<E164>.level2.sealed`
 *
 * Layout: one header line, then the body.
 *   `memvault-search-index 1 sealed\n<armored payload>`: the body is `sealer.seal(ctx, base64(db))` bound to
 *   (user, level, the level's category, "search-index"), so it opens only with this user's key of that level
 *   (level 1: the level-1 key; level 2: the level-2 key, which needs the password, or the master key alone for a
 *   person without one, exactly like their level-2 entries) and tampering or moving it fails.
 *   `memvault-search-index 1 plain <sha256 hex>\n<base64(db)>`: level 1 only, when level 1 is kept plain
 *   (MEMVAULT_LEVEL1=plain); the checksum catches damage. A level-2 index is never written or read plain.
 * Levels 3 and 4 are never persisted: they stay in memory for the session that unlocked them.
 */
const MAGIC = 'memvault-search-index';
const VERSION = '1';

/** The levels whose shard may be written to disk (always sealed but for a plain level 1). */
export type PersistedLevel = 1 | 2;

export function isPersistedLevel(level: SecurityLevel): level is PersistedLevel {
  return level === 1 || level === 2;
}

export function indexPath(dataDir: string, userId: UserId, level: PersistedLevel = 1): string {
  const name = level === 1 ? `INDEX.${userId}.sealed` : `INDEX.${userId}.level${level}.sealed`;
  return join(dataDir, 'users', userId, name);
}

export function indexSealContext(userId: UserId, level: PersistedLevel = 1): SealContext {
  return { userId, level, category: level === 1 ? 'GENERAL' : 'CONFIDENTIAL', entryId: 'search-index' };
}

/**
 * Whether this level's shard is written to disk with this sealer: level 1 always (sealed, or plain with a
 * checksum when the sealer keeps level 1 plain); level 2 only sealed; levels 3–4 never.
 */
export function persists(level: SecurityLevel, sealer: EntrySealer): boolean {
  return level === 1 || (level === 2 && sealer.seals(2));
}

/** Encodes the database bytes of a level's shard, sealed to that level's key (level 1 may be plain). */
export async function encodeIndex(
  userId: UserId,
  bytes: Buffer,
  sealer: EntrySealer,
  level: PersistedLevel = 1,
): Promise<string> {
  const body = bytes.toString('base64');
  if (sealer.seals(level)) {
    const payload = await sealer.seal(indexSealContext(userId, level), body);
    return `${MAGIC} ${VERSION} sealed\n${payload}`;
  }
  if (level !== 1) throw new Error(`A level-${level} search index is never stored unsealed.`);
  const sum = createHash('sha256').update(body).digest('hex');
  return `${MAGIC} ${VERSION} plain ${sum}\n${body}`;
}

/**
 * Decodes a persisted index back into database bytes.
 * @throws MemvaultError DATA_CORRUPTION when the file is damaged, of another version, plain for level 2, or does
 *   not open (another key, another user or level); SECURITY_ERROR (from the opener) when the level is locked.
 */
export function decodeIndex(userId: UserId, text: string, opener: EntryOpener, level: PersistedLevel = 1): Buffer {
  const newline = text.indexOf('\n');
  const header = (newline < 0 ? text : text.slice(0, newline)).split(' ');
  const body = newline < 0 ? '' : text.slice(newline + 1);
  if (header[0] !== MAGIC || header[1] !== VERSION) throw corruption('The search index file has an unknown format.');
  let base64: string;
  if (header[2] === 'sealed') {
    base64 = opener.open(indexSealContext(userId, level), body);
  } else if (header[2] === 'plain' && header[3] && level === 1) {
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
