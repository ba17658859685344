import { createCipheriv, generateKeyPairSync, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Category, SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { MemvaultError } from '../core/errors.js';
import type { SealContext } from '../ports/sealer.js';
import { generateX25519, rawPublicKey, x25519, x25519PrivateKey, x25519PublicKey } from './crypto-x25519.js';
import {
  type PublicKeySource,
  SEAL_LINE_WIDTH,
  createOpener,
  createSealer,
  openBytes,
  sealAd,
  sealBytes,
  sealToPublicKey,
} from './seal.js';

// RFC 7748 §6.1 test vectors: Alice plays the ephemeral key, Bob the recipient.
const ALICE_PRIVATE = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
const ALICE_PUBLIC = Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex');
const BOB_PRIVATE = Buffer.from('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', 'hex');
const BOB_PUBLIC = Buffer.from('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', 'hex');
const SHARED = Buffer.from('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742', 'hex');
const NONCE = Buffer.from('000102030405060708090a0b', 'hex');

const ALICE = '+15551234567' as UserId;
const BOB = '+447700900123' as UserId;
const ENTRY = '01JDQ8Z3K4M5N6P7Q8R9S0T1V2';
const TEXT = '## Memory Entry #01JDQ8Z3K4M5N6P7Q8R9S0T1V2\n\nMet Ana at the café.';
const CATEGORY: Readonly<Record<SecurityLevel, Category>> = {
  1: 'GENERAL',
  2: 'CONFIDENTIAL',
  3: 'SECRET',
  4: 'ULTRASECRET',
};
const LEVELS = [1, 2, 3, 4] as const;
const ctxOf = (level: SecurityLevel, over: Partial<SealContext> = {}): SealContext => ({
  userId: ALICE,
  level,
  category: CATEGORY[level],
  entryId: ENTRY,
  ...over,
});

/** A random source that replays the RFC ephemeral key, then the fixed nonce. */
function fixedRandom() {
  const queue = [ALICE_PRIVATE, NONCE];
  return (size: number) => {
    const next = queue.shift();
    if (!next || next.length !== size) throw new Error(`unexpected random(${size})`);
    return Uint8Array.from(next);
  };
}

/** Committed known answers: sealing TEXT to Bob's key with the fixed ephemeral key and nonce. */
const EXPECTED: Readonly<Record<SecurityLevel, string>> = {
  1: 'mv1.hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmoAAQIDBAUGBwgJCgvZ5tx3B8imYqcg\nTw6ujpfq6A--QhO2OoU16flbKDOvZmMqVRHTE1F3PpPBivUvUAkQK1fDy57q9pK4-i5srx3PYyM2\ng2cGt5ptsA6iqS-7mCrK',
  2: 'mv1.hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmoAAQIDBAUGBwgJCgvJX2GujZ5x_FWe\nLo7DDHCJaSiYhAVBH3ApF0TjCDfYHiM5yzl57cjexUOkXyD9_AAiSEZWSit_SUrsDLrurPInfq85\nPBhgdvM_5NpfOI2i1y-f',
  3: 'mv1.hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmoAAQIDBAUGBwgJCgscwhHuM4nQVifv\nmevBb2SAKnfuzzzcOe_WC0eBaCy_9sIWTqRkc-hAknY5FdXXFdZ8qc4NXcmPk5qF7rJ5FMLx_REM\nFsg3Lwt6bOUGqI1uSyHW',
  4: 'mv1.hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmoAAQIDBAUGBwgJCgtbXatLgBjx_bzg\nHofH_c-2_juBctYH_SKfrazW2CaRMT3Tx_e0Bi2sKrEBRVJf2PB35LDRDK_X91DzcxfUN5fT3exG\nrDbH3ysPh6SIOWxb3iVR',
};

/** Two users' key rings held in memory, as the sealer and opener see them. */
function keysFor() {
  const pairs = new Map(LEVELS.map((l) => [l, generateX25519()] as const));
  const privateKeys = new Map(LEVELS.map((l) => [l, Uint8Array.from(pairs.get(l)!.privateKey)] as const));
  return { pairs, privateKeys };
}
const alice = keysFor();
const bob = keysFor();
const source: PublicKeySource = {
  publicKey: async (userId, level) => (userId === ALICE ? alice : bob).pairs.get(level)!.publicKey,
};
const sealer = createSealer(source, { level1Plain: false });
const aliceOpener = createOpener(ALICE, alice.privateKeys);

function expectCode(fn: () => unknown, code: string, reason?: string) {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(MemvaultError);
  expect((caught as MemvaultError).code).toBe(code);
  if (reason) expect((caught as MemvaultError).reason).toBe(reason);
}

describe('known answers', () => {
  it('X25519 matches RFC 7748 §6.1', () => {
    expect(rawPublicKey(x25519PrivateKey(ALICE_PRIVATE))).toEqual(ALICE_PUBLIC);
    expect(x25519(x25519PrivateKey(ALICE_PRIVATE), x25519PublicKey(BOB_PUBLIC))).toEqual(SHARED);
  });

  for (const level of LEVELS) {
    it(`level ${level} seals to the committed payload, which an independent computation reproduces`, async () => {
      const kat = createSealer({ publicKey: async () => BOB_PUBLIC }, { level1Plain: false, random: fixedRandom() });
      const payload = await kat.seal(ctxOf(level), TEXT);
      expect(payload).toBe(EXPECTED[level]);

      const cipher = { 1: 'aes-128-gcm', 2: 'aes-256-gcm', 3: 'aes-256-gcm', 4: 'chacha20-poly1305' }[level];
      const key = Buffer.from(
        hkdfSync(
          'sha256',
          SHARED,
          Buffer.concat([ALICE_PUBLIC, BOB_PUBLIC]),
          `memvault/v1/seal/L${level}`,
          level === 1 ? 16 : 32,
        ),
      );
      const c = createCipheriv(cipher as 'aes-256-gcm', key, NONCE, { authTagLength: 16 });
      c.setAAD(Buffer.from(JSON.stringify(['mv1', ALICE, level, CATEGORY[level], ENTRY])));
      const body = Buffer.concat([c.update(TEXT, 'utf8'), c.final(), c.getAuthTag()]);
      const armored = `mv1.${Buffer.concat([ALICE_PUBLIC, NONCE, body]).toString('base64url')}`;
      expect(payload.replaceAll('\n', '')).toBe(armored);

      expect(createOpener(ALICE, new Map([[level, BOB_PRIVATE]])).open(ctxOf(level), payload)).toBe(TEXT);
    });
  }

  it('the associated data is the JSON array of version, user, level, category and entry', () => {
    expect(sealAd(ctxOf(3)).toString()).toBe(`["mv1","${ALICE}",3,"SECRET","${ENTRY}"]`);
  });
});

describe('round trips', () => {
  it('open ∘ seal = identity for arbitrary Unicode text at every level', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 400 }),
        fc.constantFrom(...LEVELS),
        async (text, level) => {
          const payload = await sealer.seal(ctxOf(level), text);
          expect(aliceOpener.open(ctxOf(level), payload)).toBe(text);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('payloads are ASCII lines of at most 76 characters with no back-tick, and never repeat', async () => {
    const text = 'x'.repeat(5000);
    const a = await sealer.seal(ctxOf(2), text);
    const b = await sealer.seal(ctxOf(2), text);
    expect(a).not.toBe(b);
    for (const line of a.split('\n')) {
      expect(line.length).toBeLessThanOrEqual(SEAL_LINE_WIDTH);
      expect(line).toMatch(/^[A-Za-z0-9_.-]+$/);
    }
    expect(a.startsWith('mv1.')).toBe(true);
  });

  it('accepts CRLF line breaks (a vault edited on Windows)', async () => {
    const payload = await sealer.seal(ctxOf(3), TEXT);
    expect(aliceOpener.open(ctxOf(3), payload.replaceAll('\n', '\r\n'))).toBe(TEXT);
  });

  it('sealBytes/openBytes round-trip binary blobs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
        const payload = await sealBytes(sealer, ctxOf(2), bytes);
        expect(openBytes(aliceOpener, ctxOf(2), payload)).toEqual(bytes);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses text with lone surrogates instead of altering it', async () => {
    const error = await sealer.seal(ctxOf(1), 'a\uD800b').catch((e: unknown) => e);
    expect((error as MemvaultError).code).toBe('VALIDATION_ERROR');
  });
});

describe('tampering yields DATA_CORRUPTION, never garbage', () => {
  it('any single changed character of the payload', async () => {
    const payload = await sealer.seal(ctxOf(2), TEXT);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.`~ ';
    await fc.assert(
      fc.property(fc.nat({ max: payload.length - 1 }), fc.constantFrom(...alphabet), (index, char) => {
        fc.pre(payload[index] !== '\n' && payload[index] !== char);
        const edited = payload.slice(0, index) + char + payload.slice(index + 1);
        expectCode(() => aliceOpener.open(ctxOf(2), edited), 'DATA_CORRUPTION');
      }),
      { numRuns: 400 },
    );
  });

  it('each region flipped: ephemeral key, nonce, ciphertext, tag', async () => {
    for (const level of LEVELS) {
      const payload = await sealer.seal(ctxOf(level), TEXT);
      const bytes = Buffer.from(payload.replaceAll('\n', '').slice(4), 'base64url');
      for (const offset of [0, 31, 32, 43, 44, bytes.length - 17, bytes.length - 16, bytes.length - 1]) {
        const copy = Buffer.from(bytes);
        copy[offset] = (copy[offset] ?? 0) ^ 0x01;
        expectCode(() => aliceOpener.open(ctxOf(level), `mv1.${copy.toString('base64url')}`), 'DATA_CORRUPTION');
      }
    }
  });

  it('truncated, extended, empty, garbage and unknown versions', async () => {
    const payload = await sealer.seal(ctxOf(4), TEXT);
    const cases = [
      payload.slice(0, -1),
      payload.slice(0, -4),
      payload.slice(0, 40),
      `${payload}AAAA`,
      '',
      'mv1.',
      'hello',
      payload.replace('mv1.', 'mv2.'),
      payload.replace('mv1.', ''),
      payload.replace('mv1.', 'mv1.!'),
      `mv1.${'A'.repeat(10)}`,
    ];
    for (const text of cases) expectCode(() => aliceOpener.open(ctxOf(4), text), 'DATA_CORRUPTION');
  });

  it('a non-canonical last character (unused bits set) is refused', async () => {
    const payload = await sealer.seal(ctxOf(2), 'abcd'); // 64 bytes: the last character carries 4 unused bits
    const flat = payload.replaceAll('\n', '');
    const body = flat.slice(4);
    expect(body.length % 4).toBe(2);
    expect(aliceOpener.open(ctxOf(2), payload)).toBe('abcd');
    const last = body.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) ^ 1]!;
    expectCode(() => aliceOpener.open(ctxOf(2), `mv1.${body.slice(0, -1)}${twin}`), 'DATA_CORRUPTION');
  });

  it('a low-order ephemeral key (all zero) is refused, not used', () => {
    const zero = `mv1.${Buffer.alloc(32 + 12 + 40).toString('base64url')}`;
    expectCode(() => aliceOpener.open(ctxOf(2), zero), 'DATA_CORRUPTION');
  });
});

describe('moved ciphertexts do not open', () => {
  it('to another entry, category, level or user', async () => {
    const payload = await sealer.seal(ctxOf(2), TEXT);
    expectCode(() => aliceOpener.open(ctxOf(2, { entryId: '01JDQ8Z3K4M5N6P7Q8R9S0T1V3' }), payload), 'DATA_CORRUPTION');
    expectCode(() => aliceOpener.open(ctxOf(2, { category: 'SECRET' }), payload), 'DATA_CORRUPTION');
    expectCode(() => aliceOpener.open(ctxOf(3), payload), 'DATA_CORRUPTION');
    // Bob holds every key of his own, and the payload names Alice: both checks refuse it.
    const bobOpener = createOpener(BOB, bob.privateKeys);
    expectCode(() => bobOpener.open(ctxOf(2, { userId: BOB }), payload), 'DATA_CORRUPTION');
    expectCode(() => bobOpener.open(ctxOf(2), payload), 'DATA_CORRUPTION');
  });

  it('sealed to another key of the same level', async () => {
    const payload = await sealer.seal(ctxOf(2), TEXT);
    const stranger = createOpener(ALICE, new Map([[2, generateX25519().privateKey]]));
    expectCode(() => stranger.open(ctxOf(2), payload), 'DATA_CORRUPTION');
  });
});

describe('opener and sealer behaviour', () => {
  it('canOpen reflects the held keys; a locked level is insufficient_permissions', async () => {
    const opener = createOpener(ALICE, new Map([[1, alice.privateKeys.get(1)!]]));
    expect(LEVELS.map((l) => opener.canOpen(l))).toEqual([true, false, false, false]);
    const payload = await sealer.seal(ctxOf(3), TEXT);
    expectCode(() => opener.open(ctxOf(3), payload), 'SECURITY_ERROR', 'insufficient_permissions');
  });

  it('dispose forgets the keys without touching the caller’s buffers', async () => {
    const mine = Uint8Array.from(alice.privateKeys.get(2)!);
    const opener = createOpener(ALICE, new Map([[2, mine]]));
    const payload = await sealer.seal(ctxOf(2), TEXT);
    expect(opener.open(ctxOf(2), payload)).toBe(TEXT);
    opener.dispose();
    expect(opener.canOpen(2)).toBe(false);
    expectCode(() => opener.open(ctxOf(2), payload), 'SECURITY_ERROR', 'insufficient_permissions');
    expect(mine).toEqual(alice.privateKeys.get(2));
  });

  it('refuses keys of the wrong size', () => {
    expectCode(() => createOpener(ALICE, new Map([[2, new Uint8Array(31)]])), 'VALIDATION_ERROR');
  });

  it('seals level 1 unless it is kept plain', () => {
    expect(createSealer(source, { level1Plain: true }).seals(1)).toBe(false);
    expect(createSealer(source, { level1Plain: true }).seals(2)).toBe(true);
    expect(sealer.seals(1)).toBe(true);
  });

  it('refuses an invalid recipient key', async () => {
    const broken = createSealer({ publicKey: async () => new Uint8Array(32) }, { level1Plain: false });
    const error = await broken.seal(ctxOf(2), TEXT).catch((e: unknown) => e);
    expect((error as MemvaultError).code).toBe('SECURITY_ERROR');
  });

  it('works with keys from node:crypto directly (raw 32-byte export)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    const raw = privateKey.export({ format: 'jwk' }).d!;
    const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const payload = sealToPublicKey(pub, ctxOf(4), Buffer.from(TEXT));
    expect(createOpener(ALICE, new Map([[4, Buffer.from(raw, 'base64url')]])).open(ctxOf(4), payload)).toBe(TEXT);
  });
});
