import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { UserId } from '../core/entry.js';
import { MemvaultError, storageError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import { writeFileAtomic as writeAtomic } from '../infra/atomic-file.js';
import { LockTimeoutError, withFileLock as withInfraLock } from '../infra/file-lock.js';

/** The user's folder, `dataDir/users/<E164>` (DESIGN §3). Refuses anything that is not an E.164 id. */
export function userDir(dataDir: string, userId: UserId): string {
  if (!isUserId(userId)) {
    throw new MemvaultError('VALIDATION_ERROR', 'Not a normalised phone number (E.164).', {
      details: { field: 'userId' },
    });
  }
  return join(dataDir, 'users', userId);
}

/** Creates a directory (and its parents) private to the server's user. */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
}

export { KeyedMutex } from '../infra/keyed-mutex.js';

/** `writeFileAtomic` of src/infra, with failures reported as STORAGE_ERROR naming the file. */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: { mode?: number; exclusive?: boolean } = {},
): Promise<boolean> {
  try {
    return await writeAtomic(path, data, opts);
  } catch (error) {
    throw storageError(`Could not write ${path}.`, error, { file: path });
  }
}

const LOCK_TIMEOUT_MS = 10_000;

/**
 * Runs `fn` holding `<path>.lock`, a lock file shared with other memvault processes on this host (the CLI beside
 * the server); a lock whose owner died is taken over (src/infra/file-lock.ts).
 * @throws STORAGE_ERROR when a live process holds it for longer than 10 s.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  try {
    return await withInfraLock(lock, fn, { timeoutMs: LOCK_TIMEOUT_MS });
  } catch (error) {
    if (error instanceof LockTimeoutError) {
      throw storageError(
        `${path} is locked by another memvault process; try again, or remove ${lock} if none runs.`,
        error,
        {
          file: lock,
        },
      );
    }
    throw error;
  }
}
