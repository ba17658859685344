import { randomInt } from 'node:crypto';
import { closeSync, constants, openSync, unlinkSync, writeSync } from 'node:fs';
import { readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** What a lock file holds: who owns it. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** ISO time the lock was taken. */
  readonly at: string;
}

export interface FileLockOptions {
  /** Give up after this long; default 30 s. */
  readonly timeoutMs?: number;
  /** First back-off delay; it grows ×1.5 per try up to `maxDelayMs`, each draw jittered. Default 1 ms. */
  readonly minDelayMs?: number;
  /** Default 50 ms. */
  readonly maxDelayMs?: number;
}

/** A held lock. `release` is idempotent. */
export interface FileLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Thrown when the lock stays held by a live owner for longer than `timeoutMs`. */
export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
  constructor(
    readonly path: string,
    readonly owner: LockOwner | null,
  ) {
    super(`Timed out waiting for lock ${path}${owner ? ` (held by pid ${owner.pid} on ${owner.host})` : ''}`);
  }
}

const HOST = hostname();

/** True when a process with this pid exists on this machine (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseOwner(text: string): LockOwner | null {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.at === 'string') {
      return { pid: value.pid, host: value.host, at: value.at };
    }
  } catch {
    // An owner that crashed between creating and writing the file leaves it empty or partial.
  }
  return null;
}

async function readOwner(path: string): Promise<{ text: string; owner: LockOwner | null } | null> {
  try {
    const text = await readFile(path, 'utf8');
    return { text, owner: parseOwner(text) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** An owner that cannot be read is given this long to finish writing its record before it counts as dead. */
const UNREADABLE_GRACE_MS = 2_000;

/**
 * A lock is stale when its owner ran on this host and is gone. An unreadable owner (a crash between create
 * and write) counts as stale once the file is older than the grace period; owners on other hosts are never
 * judged.
 */
async function isStale(path: string, owner: LockOwner | null): Promise<boolean> {
  if (owner) return owner.host === HOST && !isProcessAlive(owner.pid);
  try {
    return Date.now() - (await stat(path)).mtimeMs > UNREADABLE_GRACE_MS;
  } catch {
    return false;
  }
}

/**
 * Creates the lock file holding our owner record; false when it exists. Synchronous on purpose: creating and
 * writing a tiny file takes microseconds, while three round trips through the libuv thread pool cost
 * milliseconds on a busy machine, and this runs on every append.
 */
function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    const owner: LockOwner = { pid: process.pid, host: HOST, at: new Date().toISOString() };
    writeSync(fd, JSON.stringify(owner));
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes a stale lock whose content is still `staleText`; true when it did. Breaking is itself guarded by a
 * second lock (`<path>.break`) so two processes that both saw the same dead owner cannot remove a lock that a
 * third one has meanwhile taken. A breaker left by a dead process is stale by the same rules.
 */
async function breakStale(path: string, staleText: string): Promise<boolean> {
  const breaker = `${path}.break`;
  if (!tryCreate(breaker)) {
    const current = await readOwner(breaker);
    if (current && (await isStale(breaker, current.owner))) {
      const again = await readOwner(breaker);
      if (again?.text === current.text) await unlink(breaker).catch(() => undefined);
    }
    return false;
  }
  try {
    const current = await readOwner(path);
    if (current && current.text === staleText) {
      await unlink(path).catch(() => undefined);
      return true;
    }
    return false;
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

/**
 * Takes a cross-process lock: `open(O_CREAT|O_EXCL)` of `path`, holding `{pid, host, at}`. While another live
 * process holds it, waits with jittered exponential back-off; a lock left by a dead process on this host is
 * broken. Always release in `finally` (or use `withFileLock`).
 * @throws LockTimeoutError after `timeoutMs`; file-system errors other than EEXIST as they are.
 */
export async function acquireFileLock(path: string, options: FileLockOptions = {}): Promise<FileLock> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxDelay = options.maxDelayMs ?? 50;
  let delay = options.minDelayMs ?? 1;
  const deadline = Date.now() + timeoutMs;
  let lastOwner: LockOwner | null = null;
  for (;;) {
    if (tryCreate(path)) {
      let released = false;
      return {
        path,
        release: async () => {
          if (released) return;
          released = true;
          try {
            unlinkSync(path);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
          }
        },
      };
    }
    const current = await readOwner(path);
    if (current === null) continue; // released between our create and our read: try again at once
    lastOwner = current.owner;
    if ((await isStale(path, current.owner)) && (await breakStale(path, current.text))) continue;
    if (Date.now() >= deadline) throw new LockTimeoutError(path, lastOwner);
    await sleep(randomInt(Math.max(1, Math.ceil(delay / 2)), Math.ceil(delay) + 1));
    delay = Math.min(maxDelay, delay * 1.5);
  }
}

/** Runs `fn` while holding the lock at `path`; releases it however `fn` ends. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options?: FileLockOptions): Promise<T> {
  const lock = await acquireFileLock(path, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
