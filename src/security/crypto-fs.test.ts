import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyedMutex, withFileLock, writeFileAtomic } from './crypto-fs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'memvault-cryptofs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 2));

describe('writeFileAtomic', () => {
  it('replaces content with the given mode and leaves no temporary file', async () => {
    const file = join(dir, 'a.json');
    expect(await writeFileAtomic(file, 'one')).toBe(true);
    expect(await writeFileAtomic(file, 'two')).toBe(true);
    expect(await readFile(file, 'utf8')).toBe('two');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('in exclusive mode keeps an existing file and says so', async () => {
    const file = join(dir, 'b.json');
    expect(await writeFileAtomic(file, 'first', { exclusive: true })).toBe(true);
    expect(await writeFileAtomic(file, 'second', { exclusive: true })).toBe(false);
    expect(await readFile(file, 'utf8')).toBe('first');
    expect(await readdir(dir)).toEqual(['b.json']);
  });
});

describe('KeyedMutex', () => {
  it('runs work for one key in order, other keys in parallel, and survives failures', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const job = (key: string, name: string, fail = false) =>
      mutex.run(key, async () => {
        log.push(`${name}:start`);
        await tick();
        log.push(`${name}:end`);
        if (fail) throw new Error('boom');
        return name;
      });
    const results = await Promise.allSettled([job('u', 'a', true), job('u', 'b'), job('v', 'c')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(log.indexOf('a:end')).toBeLessThan(log.indexOf('b:start'));
    expect(log.indexOf('c:start')).toBeLessThan(log.indexOf('a:end'));
  });
});

describe('withFileLock', () => {
  it('excludes concurrent holders and removes the lock afterwards', async () => {
    const target = join(dir, 'log');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        withFileLock(target, async () => {
          inside++;
          most = Math.max(most, inside);
          await tick();
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes over a lock left by a process that died', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const target = join(dir, 'log');
    await writeFile(`${target}.lock`, JSON.stringify({ pid: dead, host: hostname(), at: new Date().toISOString() }));
    expect(await withFileLock(target, async () => 'ran')).toBe('ran');
  });

  it('releases the lock when the work fails', async () => {
    const target = join(dir, 'log');
    await expect(withFileLock(target, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await withFileLock(target, async () => 'again')).toBe('again');
  });
});
