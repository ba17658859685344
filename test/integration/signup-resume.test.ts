import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';
import { createMemvault, type Memvault } from '../../src/app/container.js';
import { normalizeUserId } from '../../src/core/user-id.js';

const PHONE = '+14155550134';
const PASSWORD = 'a long passphrase here 1';
const META = { ip: '203.0.113.7', channel: 'web' };

let dataDir: string;
let mv: Memvault;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-signup-'));
  mv = await createMemvault(loadConfig({ MEMVAULT_DATA_DIR: dataDir, MEMVAULT_LOG_LEVEL: 'silent' }));
});
afterEach(async () => {
  await mv.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a sign-up that stopped between the folder and the keyring (issue 16 #7)', () => {
  it('is finished by signing up again, after which the number is a normal account', async () => {
    const userId = normalizeUserId(PHONE);
    // The first step of sign-up ran; the process died before the keyring was written.
    await mv.vault.createUser({ userId, name: 'Ada', timezone: 'Europe/Lisbon' });
    expect(await mv.auth.isEnrolled(userId)).toBe(false);

    const profile = await mv.memory.signUp({ phone: PHONE, password: PASSWORD, timezone: 'UTC' });
    expect(profile).toMatchObject({ userId, name: 'Ada', timezone: 'Europe/Lisbon' });
    const { session } = await mv.auth.signIn(userId, PASSWORD, META);
    expect(session.unlocked).toEqual([1, 2]);
    const stored = await mv.memory.remember(
      { userId, opener: await mv.auth.channelOpener(userId), meta: { channel: 'cli' } },
      'Went kayaking at dawn',
      { channel: 'cli' },
    );
    expect(stored.entry.id).toBeTruthy();

    // Finished means finished: a second sign-up is the usual conflict, and cannot replace the password.
    await expect(
      mv.memory.signUp({ phone: PHONE, password: 'another long passphrase 2', timezone: 'UTC' }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    await mv.auth.signIn(userId, PASSWORD, META);
  });

  it('still applies the password policy before finishing', async () => {
    await mv.vault.createUser({ userId: normalizeUserId(PHONE), name: 'Ada', timezone: 'UTC' });
    await expect(mv.memory.signUp({ phone: PHONE, password: 'short', timezone: 'UTC' })).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
    expect(await mv.auth.isEnrolled(normalizeUserId(PHONE))).toBe(false);
  });
});
