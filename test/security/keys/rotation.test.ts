import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/app/config.js';
import { startServer } from '../../../src/app/serve.js';
import type { UserId } from '../../../src/core/entry.js';
import { KeyringStore } from '../../../src/security/keyring.js';
import { loadMasterKey } from '../../../src/security/master-key.js';
import { memvault, tempDir } from '../../helpers/cli.js';

const USER = '+14155550134' as UserId;
const PASSWORD = 'correct horse battery staple 42';

let dir: { path: string; cleanup(): void };
let D: string;
beforeEach(() => {
  dir = tempDir('memvault-rotation-');
  D = join(dir.path, 'data');
});
afterEach(() => dir.cleanup());

const keyringFile = () => join(D, 'users', USER, `KEYRING.${USER}.json`);
const previousFile = () => `${keyringFile()}.previous`;

async function createWithEntries(password: string | null): Promise<string[]> {
  const args = ['user', 'create', '--phone', USER, '--data-dir', D];
  const created = await memvault(
    password === null ? args : [...args, '--password-stdin'],
    password === null ? {} : { stdin: `${password}\n` },
  );
  expect(created.code, created.stderr).toBe(0);
  const texts = ['Went kayaking with Odette', 'Therapy notes: calmer this week'];
  const categories = ['CHRONOLOGICAL', 'CONFIDENTIAL'];
  for (const [i, text] of texts.entries()) {
    const added = await memvault(['add', '--user', USER, '--data-dir', D, '--category', categories[i]!, text]);
    expect(added.code, added.stderr).toBe(0);
  }
  return texts;
}

/** `keys rotate` killed right after the new keyring was stored, before any entry was re-sealed. */
async function interruptedRotation(password: string | null): Promise<void> {
  const masterKey = await loadMasterKey({ env: {}, dataDir: D });
  const old = await new KeyringStore({ dataDir: D, masterKey }).rotate(USER, password === null ? {} : { password });
  for (const key of old.values()) key.fill(0);
  expect(existsSync(previousFile())).toBe(true);
}

async function listed(password: string | null) {
  const args = ['list', '--user', USER, '--data-dir', D, '--json'];
  const result = await memvault(
    password === null ? args : [...args, '--password-stdin'],
    password === null ? {} : { stdin: `${password}\n` },
  );
  expect(result.code, result.stderr).toBe(0);
  return result.json<{ entries: { content: string }[]; damaged: unknown[] }>();
}

// Review 1, item 1 (rotate-interrupted-then-again.mjs): a second `keys rotate` after an interrupted one used to
// overwrite the only copy of the old keys and then delete it; every older entry became unreadable.
describe('an interrupted key rotation', () => {
  it('refuses another rotation, and `keys finish-rotation` re-seals everything before discarding the old keys', async () => {
    const texts = await createWithEntries(PASSWORD);
    await interruptedRotation(PASSWORD);

    const again = await memvault(['keys', 'rotate', '--user', USER, '--data-dir', D, '--password-stdin'], {
      stdin: `${PASSWORD}\n`,
    });
    expect(again.code).toBe(73);
    expect(again.stderr).toContain('memvault keys finish-rotation');
    expect(existsSync(previousFile())).toBe(true);

    const finished = await memvault(
      ['keys', 'finish-rotation', '--user', USER, '--data-dir', D, '--password-stdin', '--json'],
      { stdin: `${PASSWORD}\n` },
    );
    expect(finished.code, finished.stderr).toBe(0);
    expect(finished.json<{ resealed: number }>().resealed).toBe(2);
    expect(existsSync(previousFile())).toBe(false);

    const after = await listed(PASSWORD);
    expect(after.damaged).toEqual([]);
    expect(after.entries.map((e) => e.content).sort()).toEqual([...texts].sort());

    // A rotation after the finished one works, and leaves everything readable.
    const next = await memvault(['keys', 'rotate', '--user', USER, '--data-dir', D, '--password-stdin'], {
      stdin: `${PASSWORD}\n`,
    });
    expect(next.code, next.stderr).toBe(0);
    expect((await listed(PASSWORD)).entries).toHaveLength(2);
  });

  it('is finished by the next command that opens the person with their password', async () => {
    const texts = await createWithEntries(PASSWORD);
    await interruptedRotation(PASSWORD);
    const after = await listed(PASSWORD);
    expect(after.damaged).toEqual([]);
    expect(after.entries.map((e) => e.content).sort()).toEqual([...texts].sort());
    expect(existsSync(previousFile())).toBe(false);
  });

  it('is finished at start (serve) for a person without a password', async () => {
    const texts = await createWithEntries(null);
    await interruptedRotation(null);
    const config = loadConfig({ MEMVAULT_DATA_DIR: D, MEMVAULT_LOG_LEVEL: 'silent' }, { host: '127.0.0.1', port: 0 });
    const server = await startServer(config);
    try {
      expect(existsSync(previousFile())).toBe(false);
    } finally {
      await server.stop();
    }
    const after = await listed(null);
    expect(after.damaged).toEqual([]);
    expect(after.entries.map((e) => e.content).sort()).toEqual([...texts].sort());
  });

  it('keeps the old keys while an entry opens with neither generation, unless told to give it up', async () => {
    await createWithEntries(PASSWORD);
    await interruptedRotation(PASSWORD);
    // Damage the level-2 entry's sealed payload (a character in the middle of its armored text).
    const file = join(D, 'users', USER, `CONFIDENTIAL.${USER}.md`);
    const text = readFileSync(file, 'utf8');
    const at = text.indexOf('mv1.') + 40;
    writeFileSync(file, text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1));

    const refused = await memvault(['keys', 'finish-rotation', '--user', USER, '--data-dir', D, '--password-stdin'], {
      stdin: `${PASSWORD}\n`,
    });
    expect(refused.code).toBe(76);
    expect(refused.stderr).toContain('--discard-unopened');
    expect(existsSync(previousFile())).toBe(true);

    // A command that opens the person still runs: it cannot finish the rotation, so it leaves the old keys.
    const still = await listed(PASSWORD);
    expect(still.entries.map((e) => e.content)).toEqual(['Went kayaking with Odette']);
    expect(still.damaged).toHaveLength(1);
    expect(existsSync(previousFile())).toBe(true);

    const forced = await memvault(
      ['keys', 'finish-rotation', '--user', USER, '--data-dir', D, '--password-stdin', '--discard-unopened'],
      { stdin: `${PASSWORD}\n` },
    );
    expect(forced.code, forced.stderr).toBe(0);
    expect(existsSync(previousFile())).toBe(false);
  });

  it('says so when there is nothing to finish', async () => {
    await createWithEntries(PASSWORD);
    const result = await memvault(['keys', 'finish-rotation', '--user', USER, '--data-dir', D, '--password-stdin'], {
      stdin: `${PASSWORD}\n`,
    });
    expect(result.code).toBe(66);
    expect(result.stderr).toContain('No key rotation');
  });
});
