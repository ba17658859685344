import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
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

const LOCK_WAIT_MS = 5;
const LOCK_TIMEOUT_MS = 10_000;

/**
 * Runs `fn` holding `<path>.lock`, a lock file shared with other memvault processes on this host (the CLI beside
 * the server). The file holds the owner's pid; a lock whose owner is gone (a crash) is taken over.
 * @throws STORAGE_ERROR when a live process holds it for longer than 10 s.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      const handle = await open(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw storageError(`Could not lock ${path}.`, error, { file: lock });
      }
    }
    if (await isStale(lock)) {
      await unlink(lock).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw storageError(
        `${path} is locked by another memvault process; try again, or remove ${lock} if none runs.`,
        undefined,
        {
          file: lock,
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_WAIT_MS));
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}

async function isStale(lock: string): Promise<boolean> {
  let owner: number;
  try {
    owner = Number.parseInt(await readFile(lock, 'utf8'), 10);
  } catch {
    return false; // gone already: retry
  }
  if (!Number.isInteger(owner) || owner <= 0) {
    // Empty: its creator is between open and write, or died there; only the latter lasts.
    const info = await stat(lock).catch(() => null);
    return info !== null && Date.now() - info.mtimeMs > 2000;
  }
  try {
    process.kill(owner, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
