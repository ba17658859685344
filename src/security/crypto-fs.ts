import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { UserId } from '../core/entry.js';
import { isUserId } from '../core/user-id.js';
import { MemvaultError, storageError } from '../core/errors.js';

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

/** fsyncs a directory so a rename or link inside it survives a crash. */
export async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a file so that a reader sees either the old or the new content, never a torn one:
 * temp file (mode, O_EXCL) → write → fsync → rename (or link when `exclusive`) → fsync the directory.
 * With `exclusive`, an existing file is left alone and the call returns false.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: { mode?: number; exclusive?: boolean } = {},
): Promise<boolean> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, opts.mode ?? 0o600);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (opts.exclusive) {
      try {
        await link(temp, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
      }
    } else {
      await rename(temp, path);
    }
    await fsyncDir(dir);
    return true;
  } catch (error) {
    throw storageError(`Could not write ${path}.`, error, { file: path });
  } finally {
    // Gone already after a rename; still there after a link or a failure.
    await unlink(temp).catch(() => undefined);
  }
}

/** Serialises async work per key (per user) inside this process. */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
