import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { MemvaultError } from '../core/errors.js';
import { rawPublicKey, x25519PrivateKey } from './crypto-x25519.js';
import { KeyringStore } from './keyring.js';

const kdfCalls = vi.hoisted(() => ({ count: 0 }));
vi.mock('./kdf.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./kdf.js')>();
  return {
    ...actual,
    argon2id: (...args: Parameters<typeof actual.argon2id>) => {
      kdfCalls.count++;
      return actual.argon2id(...args);
    },
  };
});

/** Cheap Argon2id parameters: these tests check the logic, not the cost. */
const FAST = { memoryCost: 64, timeCost: 1, parallelism: 1 };
const MASTER = new Uint8Array(32).fill(7);
const ALICE = '+15551234567' as UserId;
const BOB = '+447700900123' as UserId;
const PRF = new Uint8Array(32).fill(0xab);

let dataDir: string;
let store: KeyringStore;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'memvault-keyring-'));
  store = new KeyringStore({ dataDir, masterKey: MASTER, kdf: FAST });
  kdfCalls.count = 0;
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<MemvaultError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MemvaultError);
  return error as MemvaultError;
}

const pub = (raw: Uint8Array) => Buffer.from(rawPublicKey(x25519PrivateKey(raw)));

describe('KeyringStore.create', () => {
  it('creates a private file in the user folder with four distinct key pairs', async () => {
    expect(await store.exists(ALICE)).toBe(false);
    await store.create(ALICE, 'correct horse');
    expect(await store.exists(ALICE)).toBe(true);
    expect(store.path(ALICE)).toBe(join(dataDir, 'users', ALICE, `KEYRING.${ALICE}.json`));
    expect((await stat(store.path(ALICE))).mode & 0o777).toBe(0o600);
    expect((await stat(dirname(store.path(ALICE)))).mode & 0o777).toBe(0o700);
    const keys = await Promise.all(([1, 2, 3, 4] as const).map((l) => store.publicKey(ALICE, l)));
    expect(new Set(keys.map((k) => Buffer.from(k).toString('hex'))).size).toBe(4);
    for (const key of keys) expect(key.byteLength).toBe(32);
  });

  it('refuses a second keyring for the same user, also when two creations race', async () => {
    await store.create(ALICE, 'pw');
    expect((await rejection(store.create(ALICE, 'other'))).code).toBe('CONFLICT');
    const results = await Promise.allSettled([store.create(BOB, 'a'), store.create(BOB, 'b')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await store.verifyPassword(BOB, 'a')).not.toBe(await store.verifyPassword(BOB, 'b'));
  });

  it('never writes the password or a private key into the file', async () => {
    await store.create(ALICE, 'hunter2-unique-marker');
    const keys = await store.unwrapMany(ALICE, [1, 2, 3, 4], { password: 'hunter2-unique-marker' });
    const text = await readFile(store.path(ALICE), 'utf8');
    expect(text).not.toContain('hunter2');
    for (const key of keys.values()) {
      expect(text).not.toContain(Buffer.from(key).toString('base64'));
      expect(text).not.toContain(Buffer.from(key).toString('hex'));
    }
  });

  it('rejects a user id that is not E.164 before touching the disk', async () => {
    expect((await rejection(store.create('../etc' as UserId, 'pw'))).code).toBe('VALIDATION_ERROR');
  });

  it('rejects weak-looking nonsense parameters and a master key of the wrong size', () => {
    expect(
      () => new KeyringStore({ dataDir, masterKey: MASTER, kdf: { memoryCost: 4, timeCost: 1, parallelism: 1 } }),
    ).toThrow(MemvaultError);
    expect(() => new KeyringStore({ dataDir, masterKey: new Uint8Array(16) })).toThrow(MemvaultError);
  });
});

describe('KeyringStore.unwrapMany', () => {
  beforeEach(async () => {
    await store.create(ALICE, 'pw');
    kdfCalls.count = 0;
  });

  it('returns private keys matching the public keys', async () => {
    const keys = await store.unwrapMany(ALICE, [1, 2, 3, 4], { password: 'pw' });
    for (const level of [1, 2, 3, 4] as const) {
      expect(pub(keys.get(level)!)).toEqual(Buffer.from(await store.publicKey(ALICE, level)));
    }
  });

  it('opens level 1 without secrets and without Argon2id', async () => {
    const keys = await store.unwrapMany(ALICE, [1], {});
    expect([...keys.keys()]).toEqual([1]);
    expect(kdfCalls.count).toBe(0);
  });

  it('runs Argon2id exactly once, whatever the number of levels', async () => {
    await store.unwrapMany(ALICE, [4, 2, 3, 2, 1], { password: 'pw' });
    expect(kdfCalls.count).toBe(1);
  });

  it('fails a wrong or missing password with authentication_failed', async () => {
    const wrong = await rejection(store.unwrapMany(ALICE, [2], { password: 'nope' }));
    expect([wrong.code, wrong.reason]).toEqual(['SECURITY_ERROR', 'authentication_failed']);
    expect(wrong.message).not.toContain('nope');
    const missing = await rejection(store.unwrapMany(ALICE, [3], {}));
    expect([missing.code, missing.reason]).toEqual(['SECURITY_ERROR', 'authentication_failed']);
  });

  it('treats composed and decomposed accents as the same password', async () => {
    await store.create(BOB, 'caf\u00e9');
    expect(await store.verifyPassword(BOB, 'cafe\u0301')).toBe(true);
  });

  it('is NOT_FOUND for a user without a keyring', async () => {
    expect((await rejection(store.unwrapMany(BOB, [1], {}))).code).toBe('NOT_FOUND');
  });
});

describe('passwords', () => {
  it('verifies in constant time and answers false for unknown users after the same work', async () => {
    await store.create(ALICE, 'pw');
    expect(await store.verifyPassword(ALICE, 'pw')).toBe(true);
    expect(await store.verifyPassword(ALICE, 'pW')).toBe(false);
    kdfCalls.count = 0;
    expect(await store.verifyPassword(BOB, 'pw')).toBe(false);
    expect(await store.dummyVerify('anything')).toBe(false);
    expect(kdfCalls.count).toBe(2);
  });

  it('a user without a password unlocks with no password until one is set', async () => {
    await store.create(ALICE, null);
    expect(await store.hasPassword(ALICE)).toBe(false);
    const before = await store.unwrapMany(ALICE, [2, 3, 4], {});
    await store.changePassword(ALICE, null, 'now-set');
    expect(await store.hasPassword(ALICE)).toBe(true);
    expect((await rejection(store.unwrapMany(ALICE, [2], {}))).reason).toBe('authentication_failed');
    const after = await store.unwrapMany(ALICE, [2, 3, 4], { password: 'now-set' });
    for (const level of [2, 3, 4] as const) expect(after.get(level)).toEqual(before.get(level));
  });

  it('changePassword re-wraps the same keys and retires the old password', async () => {
    await store.create(ALICE, 'old');
    const before = await store.unwrapMany(ALICE, [1, 2, 3, 4], { password: 'old' });
    const publicBefore = await store.publicKey(ALICE, 3);
    await store.changePassword(ALICE, 'old', 'new');
    expect((await rejection(store.unwrapMany(ALICE, [2], { password: 'old' }))).reason).toBe('authentication_failed');
    const after = await store.unwrapMany(ALICE, [1, 2, 3, 4], { password: 'new' });
    expect(after).toEqual(before);
    expect(await store.publicKey(ALICE, 3)).toEqual(publicBefore);
  });

  it('changePassword refuses a wrong or missing old password', async () => {
    await store.create(ALICE, 'old');
    expect((await rejection(store.changePassword(ALICE, 'bad', 'new'))).reason).toBe('authentication_failed');
    expect((await rejection(store.changePassword(ALICE, null, 'new'))).reason).toBe('authentication_failed');
    expect(await store.verifyPassword(ALICE, 'old')).toBe(true);
  });

  it('refuses absurdly long passwords before hashing them', async () => {
    await store.create(ALICE, 'pw');
    expect((await rejection(store.verifyPassword(ALICE, 'x'.repeat(5000)))).code).toBe('VALIDATION_ERROR');
  });
});

describe('PRF for level 4', () => {
  beforeEach(async () => {
    await store.create(ALICE, 'pw');
  });

  it('after enrolment, level 4 needs the PRF; the other levels do not', async () => {
    const before = await store.unwrapMany(ALICE, [4], { password: 'pw' });
    expect(await store.prfEnrolled(ALICE)).toBe(false);
    await store.enrollPrf(ALICE, 'pw', PRF);
    expect(await store.prfEnrolled(ALICE)).toBe(true);
    const missing = await rejection(store.unwrapMany(ALICE, [2, 4], { password: 'pw' }));
    expect([missing.code, missing.reason]).toEqual(['SECURITY_ERROR', 'biometric_failed']);
    const wrong = await rejection(store.unwrapMany(ALICE, [4], { password: 'pw', prf: new Uint8Array(32) }));
    expect(wrong.reason).toBe('biometric_failed');
    expect((await store.unwrapMany(ALICE, [4], { password: 'pw', prf: PRF })).get(4)).toEqual(before.get(4));
    expect((await store.unwrapMany(ALICE, [2, 3], { password: 'pw' })).size).toBe(2);
  });

  it('survives a password change and refuses a second enrolment', async () => {
    await store.enrollPrf(ALICE, 'pw', PRF);
    const before = await store.unwrapMany(ALICE, [4], { password: 'pw', prf: PRF });
    await store.changePassword(ALICE, 'pw', 'pw2');
    expect((await store.unwrapMany(ALICE, [4], { password: 'pw2', prf: PRF })).get(4)).toEqual(before.get(4));
    expect((await rejection(store.enrollPrf(ALICE, 'pw2', PRF))).code).toBe('CONFLICT');
  });

  it('refuses enrolment with a wrong password or a PRF output of the wrong size', async () => {
    expect((await rejection(store.enrollPrf(ALICE, 'bad', PRF))).reason).toBe('authentication_failed');
    expect((await rejection(store.enrollPrf(ALICE, 'pw', new Uint8Array(4)))).code).toBe('VALIDATION_ERROR');
    expect(await store.prfEnrolled(ALICE)).toBe(false);
  });
});

describe('KeyringStore.rotate', () => {
  it('returns the old private keys, installs new pairs and keeps the previous file', async () => {
    await store.create(ALICE, 'pw');
    await store.enrollPrf(ALICE, 'pw', PRF);
    const old = await store.unwrapMany(ALICE, [1, 2, 3, 4], { password: 'pw', prf: PRF });
    const oldPublic = await store.publicKey(ALICE, 2);
    const returned = await store.rotate(ALICE, { password: 'pw', prf: PRF });
    expect(returned).toEqual(old);
    const fresh = await store.unwrapMany(ALICE, [1, 2, 3, 4], { password: 'pw', prf: PRF });
    for (const level of [1, 2, 3, 4] as SecurityLevel[]) {
      expect(fresh.get(level)).not.toEqual(old.get(level));
      expect(pub(fresh.get(level)!)).toEqual(Buffer.from(await store.publicKey(ALICE, level)));
    }
    expect(await store.publicKey(ALICE, 2)).not.toEqual(oldPublic);
    expect((await stat(`${store.path(ALICE)}.previous`)).mode & 0o777).toBe(0o600);
  });

  it('keeps the pre-rotation keys reachable until the re-seal is declared done', async () => {
    await store.create(ALICE, 'pw');
    const old = await store.unwrapMany(ALICE, [1, 2], { password: 'pw' });
    await store.rotate(ALICE, { password: 'pw' });
    expect(await store.unwrapPrevious(ALICE, [1, 2], { password: 'pw' })).toEqual(old);
    expect((await rejection(store.unwrapPrevious(ALICE, [2], { password: 'bad' }))).reason).toBe(
      'authentication_failed',
    );
    await store.discardPrevious(ALICE);
    expect((await rejection(store.unwrapPrevious(ALICE, [1], {}))).code).toBe('NOT_FOUND');
    await store.discardPrevious(ALICE);
  });

  it('another process sees the rotation at its next publicKey call', async () => {
    await store.create(ALICE, 'pw');
    const server = new KeyringStore({ dataDir, masterKey: MASTER, kdf: FAST });
    const before = await server.publicKey(ALICE, 3);
    await store.rotate(ALICE, { password: 'pw' });
    const after = await server.publicKey(ALICE, 3);
    expect(after).not.toEqual(before);
    expect(after).toEqual(await store.publicKey(ALICE, 3));
  });

  it('needs the secrets of every level', async () => {
    await store.create(ALICE, 'pw');
    await store.enrollPrf(ALICE, 'pw', PRF);
    expect((await rejection(store.rotate(ALICE, { password: 'bad' }))).reason).toBe('authentication_failed');
    expect((await rejection(store.rotate(ALICE, { password: 'pw' }))).reason).toBe('biometric_failed');
  });

  it('serialises concurrent changes to one keyring', async () => {
    await store.create(ALICE, 'pw');
    // Unserialised, both would read the same file and both succeed, the later write silently undoing the other.
    const results = await Promise.allSettled([
      store.changePassword(ALICE, 'pw', 'pw2'),
      store.changePassword(ALICE, 'pw', 'pw3'),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const winner = results[0]?.status === 'fulfilled' ? 'pw2' : 'pw3';
    expect(await store.verifyPassword(ALICE, winner)).toBe(true);
    const keys = await store.unwrapMany(ALICE, [1, 2, 3, 4], { password: winner });
    for (const level of [1, 2, 3, 4] as const) {
      expect(pub(keys.get(level)!)).toEqual(Buffer.from(await store.publicKey(ALICE, level)));
    }
  });
});

describe('tampering with the keyring file', () => {
  // biome-ignore lint/suspicious/noExplicitAny: free-form edits of the parsed JSON file
  type Json = Record<string, any>;
  const edits: Record<string, (file: Json, other: Json) => void> = {
    'a swapped public key': (f, o) => {
      f.levels['2'].publicKey = o.levels['2'].publicKey;
    },
    'an edited wrapped key': (f) => {
      const bytes = Buffer.from(f.levels['3'].wrapped, 'base64');
      bytes[20] = (bytes[20] ?? 0) ^ 1;
      f.levels['3'].wrapped = bytes.toString('base64');
    },
    'lowered KDF parameters': (f) => {
      f.kdf.memoryCost = 8;
    },
    'a flipped hasPassword flag': (f) => {
      f.hasPassword = false;
    },
    'a toggled prf flag': (f) => {
      f.prf = !f.prf;
    },
    'a replaced verifier': (f, o) => {
      f.verifier = o.verifier;
    },
    "another user's file": (f, o) => {
      for (const key of Object.keys(f)) delete f[key];
      Object.assign(f, o);
    },
    'a removed MAC': (f) => {
      delete f.mac;
    },
  };

  for (const [name, edit] of Object.entries(edits)) {
    it(`detects ${name} as DATA_CORRUPTION naming the file`, async () => {
      await store.create(ALICE, 'pw');
      await store.create(BOB, 'pw');
      const file = JSON.parse(await readFile(store.path(ALICE), 'utf8'));
      const other = JSON.parse(await readFile(store.path(BOB), 'utf8'));
      edit(file, other);
      await writeFile(store.path(ALICE), JSON.stringify(file));
      const fresh = new KeyringStore({ dataDir, masterKey: MASTER, kdf: FAST });
      const error = await rejection(fresh.unwrapMany(ALICE, [1], {}));
      expect(error.code).toBe('DATA_CORRUPTION');
      expect(error.message).toContain(store.path(ALICE));
      expect((await rejection(fresh.publicKey(ALICE, 1))).code).toBe('DATA_CORRUPTION');
    });
  }

  it('detects garbage and a different master key', async () => {
    await store.create(ALICE, 'pw');
    const other = new KeyringStore({ dataDir, masterKey: new Uint8Array(32).fill(8), kdf: FAST });
    expect((await rejection(other.unwrapMany(ALICE, [1], {}))).code).toBe('DATA_CORRUPTION');
    await writeFile(store.path(ALICE), '{not json');
    expect((await rejection(store.hasPassword(ALICE))).code).toBe('DATA_CORRUPTION');
  });
});
