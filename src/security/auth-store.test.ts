import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
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
    // Change the second-to-last character to one it is not (a ciphertext byte, not base64 padding bits): the
    // earlier version looked at the last character instead and, once in 64 runs, wrote back the same text.
    const at = sealed.length - 2;
    const flipped = `${sealed.slice(0, at)}${sealed[at] === 'A' ? 'B' : 'A'}${sealed.slice(at + 1)}`;
    expect(flipped).not.toBe(sealed);
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
    // Refused before it reaches a path (or a row): a bad id is bad input, not a storage failure.
    await expect(store.load('../../etc' as UserId)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  it('another process updating meanwhile loses nothing: lockout, passkey and PRF credential all stay', async () => {
    // Issue 16 #8: the CLI (here a child process) and the server each read-modify-write the same record.
    await store.update(ALICE, (r) => r);
    const script = join(dir, 'register.mts');
    const source = resolve(import.meta.dirname, 'auth-store.ts');
    await writeFile(
      script,
      `import { existsSync, writeFileSync } from 'node:fs';
import { AuthStore } from ${JSON.stringify(source)};
const [dataDir] = process.argv.slice(2);
const store = new AuthStore({ dataDir, masterKey: new Uint8Array(32).fill(3) });
await store.update('${ALICE}', async (r) => {
  writeFileSync(dataDir + '/inside', '');
  while (!existsSync(dataDir + '/go')) await new Promise((x) => setTimeout(x, 5));
  r.prfCredentialId = 'cred-1';
  r.passkeys.push({ id: 'cred-1', publicKey: 'pk', counter: 0, createdAt: 'now', lastUsedAt: null,
    deviceType: 'singleDevice', backedUp: false, prf: true });
});
`,
    );
    const child = promisify(execFile)(process.execPath, ['--import', 'tsx', script, dir], {
      cwd: resolve(import.meta.dirname, '../..'),
    });
    while (!existsSync(join(dir, 'inside'))) await sleep(10);
    // The child holds the record between its read and its write; this process persists a lockout meanwhile.
    const mine = store.update(ALICE, (r) => {
      r.lockout = { failures: 9, lastFailure: 1, lockedUntil: 2 };
    });
    await sleep(100);
    await writeFile(join(dir, 'go'), '');
    await Promise.all([child, mine]);
    const after = await new AuthStore({ dataDir: dir, masterKey: new Uint8Array(32).fill(3) }).load(ALICE);
    expect(after.passkeys.map((p) => p.id)).toEqual(['cred-1']);
    expect(after.prfCredentialId).toBe('cred-1');
    expect(after.lockout).toEqual({ failures: 9, lastFailure: 1, lockedUntil: 2 });
  }, 30_000);

  it('reads the credential epoch of an older file as 0 and sees a bump written by another instance', async () => {
    expect(await store.credentialEpoch(ALICE)).toBe(0);
    await store.update(ALICE, (r) => r);
    expect(await store.credentialEpoch(ALICE)).toBe(0);
    const other = new AuthStore({ dataDir: dir, masterKey: new Uint8Array(32).fill(3) });
    await other.update(ALICE, (r) => {
      r.credentialEpoch += 1;
    });
    expect(await store.credentialEpoch(ALICE)).toBe(1);
  });
});
