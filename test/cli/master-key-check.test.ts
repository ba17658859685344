import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memvault, snapshot, tempDir } from '../helpers/cli.js';

/** A data dir remembers which master key it was created under; another key is refused before anything runs. */

const USER = '+14155550134';
const OTHER = '+14155550199';
const key = () => randomBytes(32).toString('base64');

let dir: { path: string; cleanup(): void };
let D: string;
beforeEach(() => {
  dir = tempDir();
  D = join(dir.path, 'data');
});
afterEach(() => dir.cleanup());

const users = () => (existsSync(join(D, 'users')) ? readdirSync(join(D, 'users')) : []);

describe('master key check value', () => {
  it('refuses every command under another MEMVAULT_MASTER_KEY, saying so (CONFIG_ERROR, exit 78), and changes nothing', async () => {
    const right = { MEMVAULT_MASTER_KEY: key() };
    expect((await memvault(['user', 'create', '--phone', USER, '--data-dir', D], { env: right })).code).toBe(0);
    expect((await memvault(['add', '--user', USER, '--data-dir', D, 'Fed the cat'], { env: right })).code).toBe(0);
    const before = snapshot(D);

    const wrong = { MEMVAULT_MASTER_KEY: key() };
    for (const args of [
      ['list', '--user', USER],
      ['add', '--user', USER, 'Watered the plants'],
      ['user', 'create', '--phone', OTHER],
    ]) {
      const result = await memvault([...args, '--data-dir', D], { env: wrong });
      expect(result.code, result.stderr).toBe(78);
      expect(result.stderr).toContain('CONFIG_ERROR');
      expect(result.stderr).toMatch(/master key/i);
      expect(result.stderr).not.toContain(dir.path);
    }
    // No second master key took root in this data dir: no new person, no changed file.
    expect(users()).toEqual([USER]);
    expect(snapshot(D)).toEqual(before);

    const json = await memvault(['list', '--user', USER, '--data-dir', D, '--json'], { env: wrong });
    expect(JSON.parse(json.stderr).error).toMatchObject({ code: 'CONFIG_ERROR' });
    expect(json.stderr).not.toContain(dir.path);

    expect((await memvault(['list', '--user', USER, '--data-dir', D], { env: right })).code).toBe(0);
  });

  it('on a data dir from before the check, records the key only if it opens the existing keyrings', async () => {
    const right = { MEMVAULT_MASTER_KEY: key() };
    expect((await memvault(['user', 'create', '--phone', USER, '--data-dir', D], { env: right })).code).toBe(0);
    rmSync(join(D, 'master.check')); // as a data dir written before master.check existed
    const wrong = await memvault(['list', '--user', USER, '--data-dir', D], { env: { MEMVAULT_MASTER_KEY: key() } });
    expect(wrong.code, wrong.stderr).toBe(78);
    expect(existsSync(join(D, 'master.check'))).toBe(false);
    expect((await memvault(['list', '--user', USER, '--data-dir', D], { env: right })).code).toBe(0);
    expect(existsSync(join(D, 'master.check'))).toBe(true);
  });

  it('refuses a replaced master.key file in the data dir', async () => {
    expect((await memvault(['user', 'create', '--phone', USER, '--data-dir', D])).code).toBe(0);
    expect(existsSync(join(D, 'master.check'))).toBe(true);
    writeFileSync(join(D, 'master.key'), `${key()}\n`, { mode: 0o600 });
    const result = await memvault(['list', '--user', USER, '--data-dir', D]);
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/master key/i);
  });
});

describe('MEMVAULT_MASTER_KEY_FILE', () => {
  it('reads the key from a 0600 file outside the data dir and writes no key into it', async () => {
    const file = join(dir.path, 'keys', 'memvault.key');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir.path, 'keys'), { mode: 0o700 });
    writeFileSync(file, `${key()}\n`, { mode: 0o600 });
    const env = { MEMVAULT_MASTER_KEY_FILE: file };
    expect((await memvault(['user', 'create', '--phone', USER, '--data-dir', D], { env })).code).toBe(0);
    expect(existsSync(join(D, 'master.key'))).toBe(false);
    expect((await memvault(['list', '--user', USER, '--data-dir', D], { env })).code).toBe(0);
    // Falling back to a fresh data-dir key is another key: refused.
    expect((await memvault(['list', '--user', USER, '--data-dir', D])).code).toBe(78);
  });

  it('refuses a key file others may read, and one that does not exist', async () => {
    const file = join(dir.path, 'memvault.key');
    writeFileSync(file, `${key()}\n`, { mode: 0o644 });
    chmodSync(file, 0o644);
    const open = await memvault(['user', 'create', '--phone', USER, '--data-dir', D], {
      env: { MEMVAULT_MASTER_KEY_FILE: file },
    });
    expect(open.code).toBe(77);
    expect(open.stderr).toContain('chmod 600');
    expect(open.stderr).toContain('MEMVAULT_MASTER_KEY_FILE');
    const missing = await memvault(['user', 'create', '--phone', USER, '--data-dir', D], {
      env: { MEMVAULT_MASTER_KEY_FILE: join(dir.path, 'nope.key') },
    });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('MEMVAULT_MASTER_KEY_FILE');
    expect(users()).toEqual([]);
  });

  it('refuses both MEMVAULT_MASTER_KEY and MEMVAULT_MASTER_KEY_FILE at once', async () => {
    const file = join(dir.path, 'memvault.key');
    writeFileSync(file, `${key()}\n`, { mode: 0o600 });
    const result = await memvault(['user', 'create', '--phone', USER, '--data-dir', D], {
      env: { MEMVAULT_MASTER_KEY: key(), MEMVAULT_MASTER_KEY_FILE: file },
    });
    expect(result.code).toBe(65);
    expect(result.stderr).toContain('MEMVAULT_MASTER_KEY_FILE');
  });
});
