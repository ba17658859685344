import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../src/app/config.js';
import { createMemvault, type Memvault } from '../../../src/app/container.js';
import type { UserId } from '../../../src/core/entry.js';
import { KeyringStore } from '../../../src/security/keyring.js';
import { loadMasterKey } from '../../../src/security/master-key.js';

const USER = '+14155550134' as UserId;
const PASSWORD = 'correct horse battery staple 42';

/**
 * Two memvault instances on one data dir, as a server and a command are: one finishes a key rotation in the instant
 * after the other saw it unfinished. Found by a torture run (two workers rotating every few calls, one killed
 * mid-rotation and restarted every few seconds): the restarted one died at start with "No previous keyring is kept."
 */
let dataDir: string;
let first: Memvault;
let second: Memvault;
beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'memvault-rotation-race-'));
  const config = loadConfig({ MEMVAULT_DATA_DIR: dataDir, MEMVAULT_LOG_LEVEL: 'silent' });
  first = await createMemvault(config);
  second = await createMemvault(config);
  await first.memory.signUp({ phone: USER, name: 'Race', password: PASSWORD, timezone: 'UTC' });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await first.close();
  await second.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const previousFile = () => join(dataDir, 'users', USER, `KEYRING.${USER}.json.previous`);

/** A rotation whose process died after the new keys were stored, before the re-seal. */
async function interruptedRotation(): Promise<void> {
  const keyring = new KeyringStore({ dataDir, masterKey: await loadMasterKey({ env: {}, dataDir }) });
  for (const key of (await keyring.rotate(USER, { password: PASSWORD })).values()) key.fill(0);
  expect(existsSync(previousFile())).toBe(true);
}

describe('a key rotation finished by another process in between', () => {
  it('is not an error for the one that opens the person next (resume at start)', async () => {
    await interruptedRotation();
    const pending = KeyringStore.prototype.rotationPending;
    // The second instance sees the rotation unfinished; the first finishes it before the second goes on.
    vi.spyOn(KeyringStore.prototype, 'rotationPending').mockImplementationOnce(async function (this: KeyringStore, id) {
      const seen = await pending.call(this, id);
      await first.finishRotation(USER, PASSWORD);
      return seen;
    });
    await expect(second.resumeRotation(USER, PASSWORD)).resolves.toBe('finished');
    expect(existsSync(previousFile())).toBe(false);
  });

  it('is not an error for the one that started it (rotate)', async () => {
    const unwrap = KeyringStore.prototype.unwrapRotation;
    // The second instance stored its new keys; the first, opening the person, finishes that rotation first.
    vi.spyOn(KeyringStore.prototype, 'unwrapRotation').mockImplementationOnce(async function (
      this: KeyringStore,
      ...args
    ) {
      await first.resumeRotation(USER, PASSWORD);
      return unwrap.apply(this, args);
    });
    await expect(second.rotateKeys(USER, PASSWORD)).resolves.toBe(0);
    expect(existsSync(previousFile())).toBe(false);
    // The keys are the new ones: a memory written now is read back by both instances.
    const opener = await second.auth.openerFor(USER, [1, 2], { password: PASSWORD }, { channel: 'cli' });
    const { entry } = await second.memory.remember({ userId: USER, opener, meta: { channel: 'cli' } }, 'After', {
      channel: 'cli',
      category: 'CONFIDENTIAL',
    });
    const other = await first.auth.openerFor(USER, [1, 2], { password: PASSWORD }, { channel: 'cli' });
    const read = await first.memory.get({ userId: USER, opener: other, meta: { channel: 'cli' } }, entry.id);
    expect(read.content).toBe('After');
  });

  it('still says so when no rotation was ever started', async () => {
    await expect(second.finishRotation(USER, PASSWORD)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
