import { existsSync, mkdtempSync, readFileSync, readlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
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
    // As if the lock had been broken and taken by another process meanwhile.
    const theirs = JSON.stringify({ pid: process.ppid, host: HOST, at: new Date().toISOString(), token: 'theirs' });
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
});
