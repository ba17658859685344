import { randomBytes, randomInt } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  futimesSync,
  linkSync,
  openSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * What a lock file holds: who owns it. Records written before `token` existed carry only pid, host and at; they
 * are still judged (by pid alone).
 */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** ISO time the lock was taken. */
  readonly at: string;
  /** Random per acquisition: tells this holder's lock from a later one with the same pid. */
  readonly token?: string;
  /** The kernel's boot id: a lock from before a reboot is stale whatever its pid. */
  readonly boot?: string;
  /** The owner's PID namespace: its pid means nothing in another one (containers sharing a data dir). */
  readonly pidns?: string;
  /** The owner's start time (clock ticks since boot): a live process with the same pid but another start is not it. */
  readonly start?: number;
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

/**
 * What a holder writes into its lock file's inode when it lets go. A breaker's move-aside check (`removeIfStill`)
 * can put a lock file back under its name after its holder removed it; marked like this, such a copy reads as
 * free at once instead of as a live holder's lock that everyone else waits out to their time-out.
 */
const RELEASED = '{"released":true}';

/**
 * Marks a lock file released through its descriptor, so every name the inode has, now or later, reads as free.
 * Best effort: a failure leaves the record, which is judged as before (by its owner's pid).
 */
function markReleased(fd: number): void {
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, RELEASED, 0);
  } catch {
    // A full disk or a vanished file system: the owner record stays and its pid still tells.
  }
}

/** Reads a small /proc value; undefined where there is no /proc (macOS) or it is not readable. */
function procText(read: () => string): string | undefined {
  try {
    return read().trim();
  } catch {
    return undefined;
  }
}

const BOOT = procText(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
const PIDNS = procText(() => readlinkSync('/proc/self/ns/pid'));

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTime(pid: number | 'self'): number | undefined {
  const text = procText(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  if (text === undefined) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces or parentheses: count from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const value = Number(fields[19]);
  return Number.isSafeInteger(value) ? value : undefined;
}

const START = startTime('self');

/**
 * Tokens of the locks this process holds now: a record with our pid and a token not in here is a dead
 * predecessor's. Kept on the global object so that two copies of this module in one process (the built and the
 * source tree, a test runner's module reset) share it and never take each other's live locks for stale.
 */
const HELD = Symbol.for('memvault.file-lock.held');
const held: Set<string> = ((globalThis as Record<symbol, unknown>)[HELD] as Set<string> | undefined) ?? new Set();
(globalThis as Record<symbol, unknown>)[HELD] = held;

/**
 * How long a lock held from another PID namespace stays live without its holder touching it. Holders refresh
 * their lock's mtime every third of this, so only a holder that is gone (or frozen for this long) lets it lapse.
 */
const LEASE_MS = 15_000;

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
    const value = JSON.parse(text) as Partial<Record<keyof LockOwner, unknown>>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.at === 'string') {
      return {
        pid: value.pid,
        host: value.host,
        at: value.at,
        ...(typeof value.token === 'string' ? { token: value.token } : {}),
        ...(typeof value.boot === 'string' ? { boot: value.boot } : {}),
        ...(typeof value.pidns === 'string' ? { pidns: value.pidns } : {}),
        ...(typeof value.start === 'number' ? { start: value.start } : {}),
      };
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

async function ageMs(path: string): Promise<number | null> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return null;
  }
}

/**
 * A lock is stale when its owner ran on this host and is gone:
 * - another host's lock is never judged;
 * - a lock from an earlier boot is stale;
 * - a lock from another PID namespace (another container on this host) cannot be judged by its pid, which may
 *   belong to anyone here: it is stale once its holder stopped refreshing it for `LEASE_MS`;
 * - a lock with our own pid is stale unless this process holds it now (a crashed predecessor restarted with the
 *   same pid, as a container's pid 1 always is);
 * - otherwise it is stale when its pid is dead, or alive but started at another time (the pid was reused).
 * An unreadable owner (a crash between create and write) counts as stale once older than the grace period.
 */
async function isStale(path: string, owner: LockOwner | null): Promise<boolean> {
  if (!owner) {
    const age = await ageMs(path);
    return age !== null && age > UNREADABLE_GRACE_MS;
  }
  if (owner.host !== HOST) return false;
  if (owner.boot !== undefined && BOOT !== undefined && owner.boot !== BOOT) return true;
  if (owner.pidns !== undefined && PIDNS !== undefined && owner.pidns !== PIDNS) {
    const age = await ageMs(path);
    return age !== null && age > LEASE_MS;
  }
  if (owner.pid === process.pid) return owner.token === undefined || !held.has(owner.token);
  if (!isProcessAlive(owner.pid)) return true;
  if (owner.start === undefined) return false;
  const start = startTime(owner.pid);
  return start !== undefined && start !== owner.start;
}

/**
 * Creates the lock file holding our owner record; null when it exists, else the open descriptor (kept to refresh
 * the lease) and the record written. Synchronous on purpose: creating and writing a tiny file takes
 * microseconds, while three round trips through the libuv thread pool cost milliseconds on a busy machine, and
 * this runs on every append.
 */
function tryCreate(path: string): { fd: number; text: string } | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw error;
  }
  try {
    const owner: LockOwner = {
      pid: process.pid,
      host: HOST,
      at: new Date().toISOString(),
      token: randomBytes(12).toString('base64url'),
      ...(BOOT === undefined ? {} : { boot: BOOT }),
      ...(PIDNS === undefined ? {} : { pidns: PIDNS }),
      ...(START === undefined ? {} : { start: START }),
    };
    const text = JSON.stringify(owner);
    writeSync(fd, text);
    return { fd, text };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * Removes `path` only while it still holds `text`. The file is first moved to a name of our own (atomic), so
 * what is checked is exactly what was taken away; a file that turns out to be someone else's is linked back
 * (link never overwrites). Returns true when `text` was removed.
 */
function removeIfStill(path: string, text: string): boolean {
  const aside = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.gone`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  let moved: string;
  try {
    moved = readFileSync(aside, 'utf8');
  } catch {
    moved = '';
  }
  if (moved !== text) {
    try {
      linkSync(aside, path);
    } catch {
      // Someone created a new lock in the microseconds it was away; theirs stands.
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // Already gone.
  }
  return moved === text;
}

/**
 * Removes a stale lock whose content is still `staleText`; true when it did. Breaking is itself guarded by a
 * second lock (`<path>.break`) so two processes that both saw the same dead owner cannot remove a lock that a
 * third one has meanwhile taken. A breaker left by a dead process is stale by the same rules; it is removed
 * with the same move-aside check, so two processes judging one dead breaker cannot remove a live one.
 */
async function breakStale(path: string, staleText: string): Promise<boolean> {
  const breaker = `${path}.break`;
  const mine = tryCreate(breaker);
  if (!mine) {
    const current = await readOwner(breaker);
    if (current && (await isFree(breaker, current))) removeIfStill(breaker, current.text);
    return false;
  }
  const token = parseOwner(mine.text)?.token;
  if (token) held.add(token);
  try {
    const current = await readOwner(path);
    return current !== null && current.text === staleText && removeIfStill(path, staleText);
  } finally {
    removeIfStill(breaker, mine.text);
    markReleased(mine.fd);
    closeSync(mine.fd);
    if (token) held.delete(token);
  }
}

/** True when a lock file holds no live lock: released by its holder, or left by one that is gone (`isStale`). */
async function isFree(path: string, current: { text: string; owner: LockOwner | null }): Promise<boolean> {
  return current.text === RELEASED || isStale(path, current.owner);
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
  for (let pass = 0; ; pass++) {
    const created = tryCreate(path);
    if (created) return holdLock(path, created.fd, created.text);
    // Checked on every pass after the first, also those that retry at once below: no sequence of lock files
    // appearing and vanishing keeps a caller here past its time.
    if (pass > 0 && Date.now() >= deadline) throw new LockTimeoutError(path, lastOwner);
    const current = await readOwner(path);
    if (current === null) continue; // released between our create and our read: try again at once
    lastOwner = current.owner;
    if ((await isFree(path, current)) && (await breakStale(path, current.text))) continue;
    if (Date.now() >= deadline) throw new LockTimeoutError(path, lastOwner);
    await sleep(randomInt(Math.max(1, Math.ceil(delay / 2)), Math.ceil(delay) + 1));
    delay = Math.min(maxDelay, delay * 1.5);
  }
}

/**
 * The held side: registers the token (so our own pid reads as live), refreshes the lease for other PID
 * namespaces, and on release removes the file only if it is still ours.
 */
function holdLock(path: string, fd: number, text: string): FileLock {
  const token = parseOwner(text)?.token;
  if (token) held.add(token);
  const lease = setInterval(() => {
    try {
      const now = new Date();
      futimesSync(fd, now, now);
    } catch {
      // The descriptor outlives an unlink; a failure here only shortens the lease.
    }
  }, LEASE_MS / 3);
  lease.unref();
  let released = false;
  return {
    path,
    release: async () => {
      if (released) return;
      released = true;
      clearInterval(lease);
      try {
        // Removed only while the name still points at our inode: a lock that was (wrongly) broken and retaken
        // by someone else is theirs now.
        const ours = fstatSync(fd);
        const current = statSync(path, { throwIfNoEntry: false });
        if (current !== undefined && current.ino === ours.ino && current.dev === ours.dev) unlinkSync(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      } finally {
        // After the unlink: a breaker that had moved the file aside in that instant links it back, and the copy
        // it puts back must read as free, not as ours.
        markReleased(fd);
        closeSync(fd);
        if (token) held.delete(token);
      }
    },
  };
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
