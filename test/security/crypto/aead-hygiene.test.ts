/**
 * What the AEAD constructions promise (issue 18 #6): damaged ciphertexts are refused with one uniform error, keys
 * and tags of the wrong length never reach a cipher, and no AES-GCM (key, nonce) pair is ever used twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SecurityLevel } from '../../../src/core/category.js';
import type { UserId } from '../../../src/core/entry.js';
import { MemvaultError } from '../../../src/core/errors.js';
import type { SealContext } from '../../../src/ports/sealer.js';
import { AuthStore } from '../../../src/security/auth-store.js';
import { generateX25519 } from '../../../src/security/crypto-x25519.js';
import { OWASP_MIN_KDF } from '../../../src/security/kdf.js';
import { KeyringStore } from '../../../src/security/keyring.js';
import { createOpener, recipientKey, sealToPublicKey } from '../../../src/security/seal.js';

/** Every AES-GCM encryption in the process, as key ‖ nonce (hex). */
const gcmUses: string[] = [];
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return {
    ...real,
    createCipheriv: (...args: Parameters<typeof real.createCipheriv>) => {
      const [algorithm, key, iv] = args;
      if (String(algorithm).endsWith('-gcm')) {
        gcmUses.push(
          `${Buffer.from(key as Uint8Array).toString('hex')}:${Buffer.from(iv as Uint8Array).toString('hex')}`,
        );
      }
      return real.createCipheriv(...args);
    },
  };
});

const ALICE = '+14155550134' as UserId;
const ENTRY_SEALS = 2_000;
const ctx = (level: SecurityLevel): SealContext => ({
  userId: ALICE,
  level,
  category: level === 2 ? 'CONFIDENTIAL' : 'SECRET',
  entryId: '01JDQ8Z3K4M5N6P7Q8R9S0T1V2',
});

function thrown(fn: () => unknown): MemvaultError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MemvaultError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('damaged sealed entries', () => {
  const pair = generateX25519();
  const opener = createOpener(ALICE, new Map([[2, pair.privateKey]]));
  const payload = sealToPublicKey(pair.publicKey, ctx(2), Buffer.from('Met Ana at the café.'));
  const flat = payload.replaceAll('\n', '');
  const bytes = Buffer.from(flat.slice(4), 'base64url');
  const armored = (b: Buffer) => `mv1.${b.toString('base64url')}`;

  it('truncated anywhere, extended, or cut below a whole nonce and tag: one uniform error', () => {
    const damaged = [
      armored(bytes.subarray(0, bytes.length - 1)), // tag one byte short
      armored(bytes.subarray(0, bytes.length - 8)), // tag half gone
      armored(bytes.subarray(0, 32 + 12 + 15)), // nonce whole, tag short by one, no body
      armored(bytes.subarray(0, 32 + 11)), // nonce short
      armored(bytes.subarray(0, 20)), // ephemeral key short
      armored(Buffer.concat([bytes, Buffer.from([0])])), // one byte extended
      armored(Buffer.concat([bytes, bytes.subarray(-16)])), // a second tag appended
      `${flat}A`, // non-canonical length
      'mv1.',
      '',
    ];
    const errors = damaged.map((text) => thrown(() => opener.open(ctx(2), text)));
    const first = errors[0]!;
    expect(first.code).toBe('DATA_CORRUPTION');
    for (const error of errors) {
      expect({ code: error.code, message: error.message, details: error.details }).toEqual({
        code: first.code,
        message: first.message,
        details: first.details,
      });
    }
    // The untouched payload still opens.
    expect(opener.open(ctx(2), payload)).toBe('Met Ana at the café.');
  });

  it('keys of the wrong length are refused before any cipher is built', () => {
    for (const size of [0, 16, 31, 33, 64]) {
      const key = new Uint8Array(size).fill(1);
      expect(thrown(() => createOpener(ALICE, new Map([[2, key]]))).code).toBe('VALIDATION_ERROR');
      expect(thrown(() => recipientKey(key))).toMatchObject({ code: 'SECURITY_ERROR' });
    }
  });
});

describe('sealed TOTP secrets', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'memvault-aead-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuse a shortened tag or nonce before decrypting, with the one error of a damaged secret', () => {
    const store = new AuthStore({ dataDir: dir, masterKey: new Uint8Array(32).fill(3) });
    // An empty secret seals to nonce ‖ tag: cutting the tag leaves a prefix GCM would accept as a short tag.
    const sealed = store.sealSecret(ALICE, '');
    const raw = Buffer.from(sealed.slice('v1.'.length), 'base64url');
    expect(raw).toHaveLength(28);
    const expected = thrown(() =>
      store.openSecret(ALICE, `v1.${Buffer.concat([raw, Buffer.from([1])]).toString('base64url')}`),
    );
    for (const cut of [27, 24, 20, 16, 12, 8, 0]) {
      const error = thrown(() => store.openSecret(ALICE, `v1.${raw.subarray(0, cut).toString('base64url')}`));
      expect({ code: error.code, message: error.message }).toEqual({ code: expected.code, message: expected.message });
    }
    expect(store.openSecret(ALICE, sealed)).toBe('');
  });
});

describe('AES-GCM (key, nonce) pairs', () => {
  it('never repeat over 100k seals under one fixed key, entry seals and the re-wraps of password changes and rotations', async () => {
    gcmUses.length = 0;
    // Where the key is fixed (the TOTP secrets' key, derived once from the master key; likewise a password's wrap
    // key) only the nonce keeps pairs apart: 100k seals under it.
    const store = new AuthStore({ dataDir: '/nonexistent', masterKey: new Uint8Array(32).fill(3) });
    for (let i = 0; i < 100_000; i++) store.sealSecret(ALICE, 'JBSWY3DPEHPK3PXP');
    expect(new Set(gcmUses.map((use) => use.split(':')[0])).size).toBe(1);

    // Entry seals: a fresh ephemeral X25519 key per entry gives a fresh content key (and the nonce is random as
    // well). Each seal costs two X25519 operations, so fewer of them: the keys must all differ.
    const recipient = recipientKey(generateX25519().publicKey);
    const before = gcmUses.length;
    for (let i = 0; i < ENTRY_SEALS; i++) sealToPublicKey(recipient, ctx(i % 2 === 0 ? 2 : 3), Buffer.from('x'));
    const entryKeys = gcmUses.slice(before).map((use) => use.split(':')[0]);
    expect(entryKeys).toHaveLength(ENTRY_SEALS);
    expect(new Set(entryKeys).size).toBe(ENTRY_SEALS);

    // Key wrapping: every password change, PRF enrolment and rotation re-wraps the levels.
    const dir = await mkdtemp(join(tmpdir(), 'memvault-aead-wrap-'));
    try {
      const keyring = new KeyringStore({ dataDir: dir, masterKey: new Uint8Array(32).fill(5), kdf: OWASP_MIN_KDF });
      let password = 'first long passphrase';
      await keyring.create(ALICE, password);
      await keyring.enrollPrf(ALICE, password, new Uint8Array(32).fill(9));
      for (let i = 0; i < 4; i++) {
        const next = `passphrase number ${i} long enough`;
        await keyring.changePassword(ALICE, password, next);
        password = next;
        const old = await keyring.rotate(ALICE, { password, prf: new Uint8Array(32).fill(9) });
        for (const key of old.values()) key.fill(0);
        await keyring.discardPrevious(ALICE);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(gcmUses.length).toBeGreaterThan(100_000 + ENTRY_SEALS + 30);
    expect(new Set(gcmUses).size).toBe(gcmUses.length);
  }, 120_000);
});
