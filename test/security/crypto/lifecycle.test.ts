import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Category, levelOf } from '../../../src/core/category.js';
import type { UserId } from '../../../src/core/entry.js';
import type { SealContext } from '../../../src/ports/sealer.js';
import { FileAuditLog } from '../../../src/security/audit-log.js';
import { DEFAULT_KDF, OWASP_MIN_KDF, argon2id } from '../../../src/security/kdf.js';
import { KeyringStore } from '../../../src/security/keyring.js';
import { loadMasterKey } from '../../../src/security/master-key.js';
import { createOpener, createSealer } from '../../../src/security/seal.js';

/**
 * The whole key lifecycle as the services use it: master key → keyring → seal on write → unlock → open →
 * password change → passkey PRF → rotation with re-seal, with the audit log beside it.
 */
const USER = '+14155550134' as UserId;
const FAST = { memoryCost: 256, timeCost: 1, parallelism: 1 };
const PRF = new Uint8Array(32).fill(0x5a);
const CATEGORIES: readonly Category[] = ['CHRONOLOGICAL', 'GENERAL', 'CONFIDENTIAL', 'SECRET', 'ULTRASECRET'];

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-lifecycle-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const ctx = (category: Category, n: number): SealContext => ({
  userId: USER,
  level: levelOf(category),
  category,
  entryId: `01JDQ8Z3K4M5N6P7Q8R9S0T${String(n).padStart(3, '0')}`,
});

describe('key lifecycle', () => {
  it('keeps every entry readable through password change, PRF enrolment and rotation', async () => {
    const masterKey = await loadMasterKey({ env: {}, dataDir });
    const keyring = new KeyringStore({ dataDir, masterKey, kdf: FAST });
    const audit = new FileAuditLog({ dataDir, masterKey });
    await keyring.create(USER, 'first password');
    await audit.append(USER, { action: 'enroll', result: 'success' });

    // Writing needs no secrets.
    const sealer = createSealer(keyring, { level1Plain: false });
    const stored = await Promise.all(
      CATEGORIES.map(async (category, n) => {
        const text = `## Memory Entry #${n}\n\n${category} note ${'·'.repeat(n * 30)}`;
        return { ctx: ctx(category, n), text, payload: await sealer.seal(ctx(category, n), text) };
      }),
    );

    const openAll = async (secrets: { password?: string; prf?: Uint8Array }) => {
      const keys = await keyring.unwrapMany(USER, [1, 2, 3, 4], secrets);
      const opener = createOpener(USER, keys);
      for (const key of keys.values()) key.fill(0);
      return opener;
    };

    let opener = await openAll({ password: 'first password' });
    for (const s of stored) expect(opener.open(s.ctx, s.payload)).toBe(s.text);
    opener.dispose();

    await keyring.changePassword(USER, 'first password', 'second password');
    await keyring.enrollPrf(USER, 'second password', PRF);
    await audit.append(USER, { action: 'password.change', result: 'success' });
    opener = await openAll({ password: 'second password', prf: PRF });
    for (const s of stored) expect(opener.open(s.ctx, s.payload)).toBe(s.text);
    opener.dispose();

    // Rotation: the old keys open, the sealer (now on the new public keys) re-seals.
    const old = await keyring.rotate(USER, { password: 'second password', prf: PRF });
    const oldOpener = createOpener(USER, old);
    const resealed = await Promise.all(
      stored.map(async (s) => ({ ...s, payload: await sealer.seal(s.ctx, oldOpener.open(s.ctx, s.payload)) })),
    );
    oldOpener.dispose();
    opener = await openAll({ password: 'second password', prf: PRF });
    for (const s of resealed) expect(opener.open(s.ctx, s.payload)).toBe(s.text);
    for (const s of stored) expect(() => opener.open(s.ctx, s.payload)).toThrow(/does not open/);
    await audit.append(USER, { action: 'keys.rotate', result: 'success' });

    // After a restart (fresh instances, same master key from the file) everything still verifies and opens.
    const again = await loadMasterKey({ env: {}, dataDir });
    expect(again).toEqual(masterKey);
    const reopened = new KeyringStore({ dataDir, masterKey: again, kdf: FAST });
    const level1 = createOpener(USER, await reopened.unwrapMany(USER, [1], {}));
    const general = resealed.find((s) => s.ctx.category === 'GENERAL')!;
    expect(level1.open(general.ctx, general.payload)).toBe(general.text);
    expect(await new FileAuditLog({ dataDir, masterKey: again }).verify(USER)).toEqual({ ok: true, records: 3 });
  });
});

describe('KDF defaults', () => {
  it('are at or above the OWASP minimum', () => {
    expect(DEFAULT_KDF.memoryCost).toBeGreaterThanOrEqual(OWASP_MIN_KDF.memoryCost);
    expect(DEFAULT_KDF.timeCost).toBeGreaterThanOrEqual(OWASP_MIN_KDF.timeCost);
    expect(DEFAULT_KDF.parallelism).toBeGreaterThanOrEqual(1);
  });

  it('Argon2id is deterministic per salt and parameters, and NFC-normalises the password', async () => {
    const salt = new Uint8Array(16).fill(1);
    const a = await argon2id('Zoë', salt, FAST);
    expect(await argon2id('Zoe\u0308', salt, FAST)).toEqual(a);
    expect(await argon2id('Zoë', new Uint8Array(16).fill(2), FAST)).not.toEqual(a);
    expect(await argon2id('Zoë', salt, { ...FAST, timeCost: 2 })).not.toEqual(a);
    expect(a).toHaveLength(32);
  });
});
