import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserId } from '../core/entry.js';
import { MemvaultError } from '../core/errors.js';
import { AuthStore } from './auth-store.js';

const ALICE = '+14155550134' as UserId;
const BOB = '+442079460958' as UserId;
let dir: string;
let store: AuthStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'memvault-auth-store-'));
  store = new AuthStore({ dataDir: dir, masterKey: new Uint8Array(32).fill(3) });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('auth store', () => {
  it('writes AUTH.<E164>.json with mode 0600 and reads it back', async () => {
    await store.update(ALICE, (r) => {
      r.passkeys.push({
        id: 'cred',
        publicKey: 'pk',
        counter: 1,
        createdAt: 'now',
        lastUsedAt: null,
        deviceType: 'singleDevice',
        backedUp: false,
        prf: true,
      });
    });
    const file = join(dir, 'users', ALICE, `AUTH.${ALICE}.json`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const loaded = await store.load(ALICE);
    expect(loaded.passkeys.map((p) => p.id)).toEqual(['cred']);
    expect(Buffer.from(loaded.prfSalt, 'base64url')).toHaveLength(32);
  });

  it('seals TOTP secrets: round trip, never in clear on disk, bound to the user and the master key', async () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Z2-7]{16,64}$/), (secret) => {
        expect(store.openSecret(ALICE, store.sealSecret(ALICE, secret))).toBe(secret);
      }),
    );
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const sealed = store.sealSecret(ALICE, secret);
    await store.update(ALICE, (r) => {
      r.totp = { sealed, lastStep: null, enrolledAt: 'now' };
    });
    expect(await readFile(join(dir, 'users', ALICE, `AUTH.${ALICE}.json`), 'utf8')).not.toContain(secret);
    expect(() => store.openSecret(BOB, sealed)).toThrow(MemvaultError);
    const other = new AuthStore({ dataDir: dir, masterKey: new Uint8Array(32).fill(4) });
    expect(() => other.openSecret(ALICE, sealed)).toThrow(/set up the authenticator app again/);
    const flipped = `${sealed.slice(0, -2)}${sealed.endsWith('A') ? 'B' : 'A'}${sealed.slice(-1)}`;
    expect(() => store.openSecret(ALICE, flipped)).toThrow(MemvaultError);
  });

  it('serialises concurrent updates so none is lost', async () => {
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        store.update(ALICE, (r) => {
          r.passkeys.push({
            id: `c${i}`,
            publicKey: 'pk',
            counter: 0,
            createdAt: 'now',
            lastUsedAt: null,
            deviceType: 'singleDevice',
            backedUp: false,
            prf: false,
          });
        }),
      ),
    );
    expect((await store.load(ALICE)).passkeys).toHaveLength(25);
  });

  it('a failed change writes nothing and later updates still run', async () => {
    await expect(
      store.update(ALICE, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await store.update(ALICE, (r) => {
      r.prfCredentialId = 'x';
    });
    expect((await store.load(ALICE)).prfCredentialId).toBe('x');
  });

  it('reports a damaged file as DATA_CORRUPTION and refuses non-E.164 ids', async () => {
    await store.update(ALICE, () => undefined);
    await writeFile(join(dir, 'users', ALICE, `AUTH.${ALICE}.json`), '{"version": 1, "passk');
    await expect(store.load(ALICE)).rejects.toMatchObject({ code: 'DATA_CORRUPTION' });
    await expect(store.load('../../etc' as UserId)).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
  });
});
