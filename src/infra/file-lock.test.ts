import { execFile } from 'node:child_process';
import {
  existsSync,
  linkSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  renameSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { acquireFileLock, LockTimeoutError } from './file-lock.js';

const scratch = () => join(mkdtempSync(join(tmpdir(), 'memvault-lock-')), '.lock');
const HOST = hostname();
const linux = existsSync('/proc/self/stat');

function procStart(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]);
}

// Review 1, item 4 (stale-lock-own-pid.mjs), and the lock-breaking races of the same review.
describe('file lock: stale owners', () => {
  it('breaks a lock naming our own pid that no holder in this process took (a restarted container)', async () => {
    const path = scratch();
    writeFileSync(path, JSON.stringify({ pid: process.pid, host: HOST, at: '2020-01-01T00:00:00.000Z' }));
    const lock = await acquireFileLock(path, { timeoutMs: 1500 });
    await lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it('still waits for a holder in this very process', async () => {
    const path = scratch();
    const first = await acquireFileLock(path);
    await expect(acquireFileLock(path, { timeoutMs: 50 })).rejects.toBeInstanceOf(LockTimeoutError);
    await first.release();
  });

  it('a second copy of this module in the same process does not take a live lock for stale', async () => {
    const path = scratch();
    const first = await acquireFileLock(path);
    vi.resetModules();
    const copy = await import('./file-lock.js');
    expect(copy.acquireFileLock).not.toBe(acquireFileLock);
    await expect(copy.acquireFileLock(path, { timeoutMs: 50 })).rejects.toBeInstanceOf(copy.LockTimeoutError);
    await first.release();
  });

  it('removes only its own lock on release', async () => {
    const path = scratch();
    const lock = await acquireFileLock(path);
    // As if the lock had been broken and taken by another process meanwhile: a new file under the same name.
    const theirs = JSON.stringify({ pid: process.ppid, host: HOST, at: new Date().toISOString(), token: 'theirs' });
    unlinkSync(path);
    writeFileSync(path, theirs);
    await lock.release();
    expect(readFileSync(path, 'utf8')).toBe(theirs);
  });

  it.runIf(linux)('breaks a lock whose pid is alive but belongs to a process started at another time', async () => {
    const path = scratch();
    const start = procStart(process.ppid) + 1;
    writeFileSync(path, JSON.stringify({ pid: process.ppid, host: HOST, at: new Date().toISOString(), start }));
    const lock = await acquireFileLock(path, { timeoutMs: 1500 });
    await lock.release();
  });

  it.runIf(linux)('breaks a lock from an earlier boot even when its pid is alive now', async () => {
    const path = scratch();
    const owner = { pid: process.ppid, host: HOST, at: new Date().toISOString(), boot: 'an-earlier-boot' };
    writeFileSync(path, JSON.stringify(owner));
    const lock = await acquireFileLock(path, { timeoutMs: 1500 });
    await lock.release();
  });

  it.runIf(linux)('does not judge a pid from another PID namespace; only a lapsed lease makes it stale', async () => {
    const path = scratch();
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const other = readlinkSync('/proc/self/ns/pid') === 'pid:[1]' ? 'pid:[2]' : 'pid:[1]';
    // pid 999999999 does not exist here, but may well be alive in the other namespace.
    const owner = { pid: 999_999_999, host: HOST, at: new Date().toISOString(), boot, pidns: other };
    writeFileSync(path, JSON.stringify(owner));
    await expect(acquireFileLock(path, { timeoutMs: 50 })).rejects.toBeInstanceOf(LockTimeoutError);
    const lapsed = new Date(Date.now() - 60_000);
    utimesSync(path, lapsed, lapsed);
    const lock = await acquireFileLock(path, { timeoutMs: 1500 });
    await lock.release();
  });

  it('records a token and, where the platform has them, the boot id, PID namespace and start time', async () => {
    const path = scratch();
    const lock = await acquireFileLock(path);
    const owner = JSON.parse(readFileSync(path, 'utf8'));
    expect(owner).toMatchObject({ pid: process.pid, host: HOST });
    expect(typeof owner.token).toBe('string');
    if (linux) expect(owner.start).toBe(procStart(process.pid));
    await lock.release();
  });

  it('gives up at its time when the name exists but cannot be read (a dangling symbolic link)', async () => {
    const path = scratch();
    symlinkSync(join(tmpdir(), 'memvault-lock-nowhere', 'x'), path);
    // Creating fails with EEXIST and reading with ENOENT, on every pass: this once retried for ever.
    await expect(acquireFileLock(path, { timeoutMs: 100 })).rejects.toBeInstanceOf(LockTimeoutError);
  });
});

describe('file lock: a lock put back after its holder let go', () => {
  const child = fileURLToPath(new URL('../../test/helpers/file-lock-child.ts', import.meta.url));

  /** Takes the lock in another process (whose view of our pid is a live foreign holder); its stdout. */
  const acquireElsewhere = async (path: string, timeoutMs: number) =>
    (await promisify(execFile)(process.execPath, ['--import', 'tsx', child, path, String(timeoutMs)])).stdout.trim();

  it('reads as free to every other process, not as a live holder to wait for', async () => {
    const path = scratch();
    const aside = `${path}.aside`;
    const lock = await acquireFileLock(path);
    // A breaker's move-aside check in another process: it takes the file away, the holder lets go meanwhile
    // (finding no file to remove), and the breaker, seeing a record that is not the stale one it judged, puts
    // the file back.
    renameSync(path, aside);
    await lock.release();
    linkSync(aside, path);
    unlinkSync(aside);
    expect(readFileSync(path, 'utf8')).toBe('{"released":true}');
    // Before, the copy named this (live) process: every other one waited its whole time-out, then failed.
    expect(await acquireElsewhere(path, 2_000)).toBe('acquired');
  });

  it('a lock still held is waited for by another process', async () => {
    const path = scratch();
    const lock = await acquireFileLock(path);
    try {
      expect(await acquireElsewhere(path, 300)).toBe('timed out');
    } finally {
      await lock.release();
    }
    expect(existsSync(path)).toBe(false);
  });
});
