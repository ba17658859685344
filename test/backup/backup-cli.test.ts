import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memvault, tempDir } from '../helpers/cli.js';
import { ANA, BEN, KEY } from './fixture.js';

const env = { MEMVAULT_MASTER_KEY: KEY };
let dir: { path: string; cleanup(): void };
let D: string;
const run = (args: string[]) => memvault([...args, '--data-dir', D], { env });

beforeEach(async () => {
  dir = tempDir();
  D = join(dir.path, 'data');
  for (const phone of [ANA, BEN]) expect((await run(['user', 'create', '--phone', phone])).code).toBe(0);
  expect((await run(['add', '--user', ANA, 'Went hiking with Sara on the ridge'])).code).toBe(0);
});
afterEach(() => dir.cleanup());

describe('memvault backup / restore / doctor', () => {
  it('create, list, verify and restore, with --json shapes of docs/cli.md', async () => {
    const made = await run(['backup', 'create', '--user', ANA, '--json']);
    expect(made.code, made.stderr).toBe(0);
    const { backup } = made.json<{ backup: { file: string; counts: { CHRONOLOGICAL: number; GENERAL: number } } }>();
    expect(backup.counts.CHRONOLOGICAL + backup.counts.GENERAL).toBe(1);

    const listed = await run(['backup', 'list', '--json']);
    expect(listed.json<{ backups: Array<{ file: string }> }>().backups.map((b) => b.file)).toEqual([backup.file]);

    const verified = await run(['backup', 'verify', backup.file, '--json']);
    expect(verified.json()).toMatchObject({ ok: true, backup: { file: backup.file } });

    expect((await run(['add', '--user', ANA, 'Bought new boots'])).code).toBe(0);
    const restored = await run(['restore', backup.file, '--user', ANA, '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    const list = await run(['list', '--user', ANA, '--json']);
    expect(list.json<{ entries: unknown[] }>().entries).toHaveLength(1);
  });

  it("refuses Ana's backup for Ben with exit 65 and a reason; a damaged backup exits 76", async () => {
    const { backup } = (await run(['backup', 'create', '--user', ANA, '--json'])).json<{ backup: { file: string } }>();
    const wrong = await run(['restore', backup.file, '--user', BEN]);
    expect(wrong.code).toBe(65);
    expect(wrong.stderr).toMatch(/belongs to another person/);
    const bytes = readFileSync(backup.file);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0xff;
    const bad = join(dir.path, 'bad.mvbackup');
    writeFileSync(bad, bytes);
    const damaged = await run(['backup', 'verify', bad, '--json']);
    expect(damaged.code).toBe(76);
    expect(JSON.parse(damaged.stderr)).toMatchObject({
      error: { code: 'DATA_CORRUPTION', details: { problem: 'tampered' } },
    });
  });

  it('needs exactly one of --user and --all; --out refuses to overwrite', async () => {
    expect((await run(['backup', 'create'])).code).toBe(65);
    expect((await run(['backup', 'create', '--user', ANA, '--all'])).code).toBe(65);
    const out = join(dir.path, 'ana.mvbackup');
    expect((await run(['backup', 'create', '--user', ANA, '--out', out])).code).toBe(0);
    const again = await run(['backup', 'create', '--user', ANA, '--out', out]);
    expect(again.code).toBe(73);
    const all = await run(['backup', 'create', '--all', '--json']);
    expect(all.json<{ backups: unknown[] }>().backups).toHaveLength(2);
  });

  it('doctor says OK on a sound vault and names a damaged entry (exit 76)', async () => {
    const ok = await run(['doctor', '--user', ANA, '--json']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.json()).toMatchObject({ ok: true });
    // A hand edit inside the sealed payload: the entry no longer opens.
    for (const c of ['CHRONOLOGICAL', 'GENERAL']) {
      const path = join(D, 'users', ANA, `${c}.${ANA}.md`);
      const text = readFileSync(path, 'utf8');
      const at = text.indexOf('mv1.');
      if (at >= 0)
        writeFileSync(path, `${text.slice(0, at + 10)}${text[at + 10] === 'A' ? 'B' : 'A'}${text.slice(at + 11)}`);
    }
    const bad = await run(['doctor', '--user', ANA]);
    expect(bad.code).toBe(76);
    expect(bad.stdout).toMatch(/\[BAD\] entries/);
  });

  it("a restore brings back the keyring of the backup's time: its password opens level 2 again", async () => {
    const USER = '+14155550150';
    const OLD = 'correct horse battery staple 42';
    expect(
      (
        await memvault(['user', 'create', '--phone', USER, '--password-stdin', '--data-dir', D], {
          env,
          stdin: `${OLD}\n`,
        })
      ).code,
    ).toBe(0);
    expect((await run(['add', '--user', USER, '--category', 'CONFIDENTIAL', 'Therapy on Tuesday'])).code).toBe(0);
    const { backup } = (await run(['backup', 'create', '--user', USER, '--json'])).json<{ backup: { file: string } }>();
    const changed = await memvault(['user', 'password', '--user', USER, '--password-stdin', '--data-dir', D], {
      env,
      stdin: `${OLD}\nanother good passphrase 77\n`,
    });
    expect(changed.code).toBe(0);
    expect((await run(['restore', backup.file, '--user', USER])).code).toBe(0);
    const read = await memvault(['list', '--user', USER, '--password-stdin', '--data-dir', D, '--json'], {
      env,
      stdin: `${OLD}\n`,
    });
    expect(read.code, read.stderr).toBe(0);
    expect(read.json<{ entries: Array<{ content: string }> }>().entries.map((e) => e.content)).toEqual([
      'Therapy on Tuesday',
    ]);
  });
});
