import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { isTempFileName, removeTempFiles, tempPathFor, tempTarget, writeFileAtomic } from './atomic-file.js';
import { acquireFileLock, isProcessAlive, LockTimeoutError, withFileLock } from './file-lock.js';
import { KeyedMutex } from './keyed-mutex.js';

const scratchDirs: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'memvault-infra-'));
  scratchDirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('KeyedMutex', () => {
  it('runs work for one key in call order, one at a time', async () => {
    const mutex = new KeyedMutex<string>();
    const log: string[] = [];
    let running = 0;
    const job = (name: string, ms: number) =>
      mutex.run('k', async () => {
        running++;
        expect(running).toBe(1);
        log.push(`start ${name}`);
        await sleep(ms);
        log.push(`end ${name}`);
        running--;
        return name;
      });
    expect(await Promise.all([job('a', 5), job('b', 0), job('c', 1)])).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(mutex.size).toBe(0);
  });

  it('keeps going after a failure and lets different keys overlap', async () => {
    const mutex = new KeyedMutex<string>();
    const failed = mutex.run('k', () => Promise.reject(new Error('boom')));
    const next = mutex.run('k', () => 'ok');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
    let overlap = false;
    let inA = false;
    await Promise.all([
      mutex.run('a', async () => {
        inA = true;
        await sleep(5);
        inA = false;
      }),
      mutex.run('b', async () => {
        await sleep(1);
        overlap = inA;
      }),
    ]);
    expect(overlap).toBe(true);
    await mutex.idle();
    expect(mutex.isLocked('a')).toBe(false);
  });
});

describe('writeFileAtomic', () => {
  it('replaces the file, leaves no temp file and sets the mode', async () => {
    const dir = scratch();
    const path = join(dir, 'f.md');
    writeFileSync(path, 'old');
    await writeFileAtomic(path, 'new');
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['f.md']);
  });

  it('removes its temp file when the rename fails', async () => {
    const dir = scratch();
    await expect(writeFileAtomic(join(dir, 'missing-dir', 'f.md'), 'x')).rejects.toThrow();
    await expect(writeFileAtomic(join(dir), 'x')).rejects.toThrow(); // renaming a file over a directory fails
    expect(readdirSync(dir).filter(isTempFileName)).toEqual([]);
  });

  it('cleans temp files left by a crash, and only those', async () => {
    const dir = scratch();
    const temp = tempPathFor(join(dir, 'f.md'));
    writeFileSync(temp, 'half');
    writeFileSync(join(dir, 'notes.tmp'), 'keep');
    writeFileSync(join(dir, 'f.md'), 'keep');
    expect(await removeTempFiles(dir)).toHaveLength(1);
    expect(readdirSync(dir).sort()).toEqual(['f.md', 'notes.tmp']);
  });

  it('removes only the temp files of the targets it owns', async () => {
    const dir = scratch();
    const mine = tempPathFor(join(dir, 'mine.md'));
    const theirs = tempPathFor(join(dir, 'theirs.json'));
    writeFileSync(mine, '');
    writeFileSync(theirs, '');
    expect(tempTarget(mine.slice(dir.length + 1))).toBe('mine.md');
    expect(await removeTempFiles(dir, (target) => target === 'mine.md')).toHaveLength(1);
    expect(readdirSync(dir)).toEqual([theirs.slice(dir.length + 1)]);
  });
});

describe('file lock', () => {
  it('is exclusive and released in finally', async () => {
    const path = join(scratch(), '.lock');
    const lock = await acquireFileLock(path);
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    await expect(acquireFileLock(path, { timeoutMs: 30 })).rejects.toBeInstanceOf(LockTimeoutError);
    await lock.release();
    await lock.release();
    await expect(withFileLock(path, () => Promise.reject(new Error('inner')))).rejects.toThrow('inner');
    expect(() => statSync(path)).toThrow();
  });

  it('waits for a live holder', async () => {
    const path = join(scratch(), '.lock');
    const first = await acquireFileLock(path);
    let got = false;
    const second = acquireFileLock(path).then((l) => {
      got = true;
      return l;
    });
    await sleep(20);
    expect(got).toBe(false);
    await first.release();
    await (await second).release();
    expect(got).toBe(true);
  });

  it('breaks a lock whose process is dead', async () => {
    const path = join(scratch(), '.lock');
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid ?? 0;
    await new Promise((resolve) => child.on('exit', resolve));
    expect(isProcessAlive(pid)).toBe(false);
    writeFileSync(
      path,
      JSON.stringify({ pid, host: (await import('node:os')).hostname(), at: new Date().toISOString() }),
    );
    const lock = await acquireFileLock(path, { timeoutMs: 1000 });
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('breaks an empty lock (owner killed before writing it) once it is old, and an abandoned breaker', async () => {
    const dir = scratch();
    const path = join(dir, '.lock');
    const old = new Date(Date.now() - 60_000);
    writeFileSync(path, '');
    writeFileSync(`${path}.break`, '');
    utimesSync(path, old, old);
    utimesSync(`${path}.break`, old, old);
    const lock = await acquireFileLock(path, { timeoutMs: 2000 });
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('leaves a fresh empty lock alone (its owner may be writing it)', async () => {
    const path = join(scratch(), '.lock');
    writeFileSync(path, '');
    await expect(acquireFileLock(path, { timeoutMs: 50 })).rejects.toBeInstanceOf(LockTimeoutError);
  });

  it('never judges a lock held on another host', async () => {
    const path = join(scratch(), '.lock');
    writeFileSync(path, JSON.stringify({ pid: 999_999_999, host: 'elsewhere', at: new Date().toISOString() }));
    await expect(acquireFileLock(path, { timeoutMs: 30 })).rejects.toMatchObject({ owner: { host: 'elsewhere' } });
  });

  it('serialises many concurrent contenders', async () => {
    const path = join(scratch(), '.lock');
    let inside = 0;
    let max = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        withFileLock(path, async () => {
          inside++;
          max = Math.max(max, inside);
          await sleep(1);
          inside--;
        }),
      ),
    );
    expect(max).toBe(1);
  });
});
