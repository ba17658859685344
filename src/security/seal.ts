import { type CipherGCMTypes, type KeyObject, createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type SecurityLevel, isSecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { MemvaultError, corruption, securityError, validationError } from '../core/errors.js';
import type { EntryOpener, EntrySealer, SealContext } from '../ports/sealer.js';
import { rawPublicKey, X25519_KEY_BYTES, x25519, x25519PrivateKey, x25519PublicKey } from './crypto-x25519.js';
import { concatBytes, hkdfSha256 } from './kdf.js';

/** Version prefix of every sealed payload. */
export const SEAL_PREFIX = 'mv1.';
/** Armored payloads are wrapped at this many characters per line. */
export const SEAL_LINE_WIDTH = 76;

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = X25519_KEY_BYTES + NONCE_BYTES;
const BODY = /^[A-Za-z0-9_-]+$/;
const LONE_SURROGATE = /\p{Cs}/u;

type Aead = CipherGCMTypes | 'chacha20-poly1305';

/** The AEAD of each level (DESIGN §5) and its key length in bytes. */
const AEAD: Readonly<Record<SecurityLevel, { cipher: Aead; keyBytes: number }>> = {
  1: { cipher: 'aes-128-gcm', keyBytes: 16 },
  2: { cipher: 'aes-256-gcm', keyBytes: 32 },
  3: { cipher: 'aes-256-gcm', keyBytes: 32 },
  4: { cipher: 'chacha20-poly1305', keyBytes: 32 },
};

/** Source of random bytes; injectable so tests can fix the ephemeral key and nonce (known-answer tests). */
export type RandomSource = (size: number) => Uint8Array;

/** The associated data: format version, user, level, category and entry id, as a JSON array (unambiguous). */
export function sealAd(ctx: SealContext): Buffer {
  return Buffer.from(JSON.stringify(['mv1', ctx.userId, ctx.level, ctx.category, ctx.entryId]), 'utf8');
}

function contentKey(level: SecurityLevel, shared: Buffer, ephemeralPublic: Uint8Array, recipientPublic: Uint8Array) {
  const salt = concatBytes(ephemeralPublic, recipientPublic);
  return hkdfSha256(shared, salt, `memvault/v1/seal/L${level}`, AEAD[level].keyBytes);
}

function newCipher(level: SecurityLevel, key: Buffer, nonce: Buffer) {
  const { cipher } = AEAD[level];
  return cipher === 'chacha20-poly1305'
    ? createCipheriv(cipher, key, nonce, { authTagLength: TAG_BYTES })
    : createCipheriv(cipher, key, nonce, { authTagLength: TAG_BYTES });
}

function newDecipher(level: SecurityLevel, key: Buffer, nonce: Buffer) {
  const { cipher } = AEAD[level];
  return cipher === 'chacha20-poly1305'
    ? createDecipheriv(cipher, key, nonce, { authTagLength: TAG_BYTES })
    : createDecipheriv(cipher, key, nonce, { authTagLength: TAG_BYTES });
}

function checkContext(ctx: SealContext): void {
  if (!isSecurityLevel(ctx.level)) throw validationError('Security level must be 1 to 4.', { field: 'level' });
}

/** Wraps `mv1.<base64url>` into lines of at most `SEAL_LINE_WIDTH` characters. */
function armor(bytes: Uint8Array): string {
  const text = SEAL_PREFIX + Buffer.from(bytes).toString('base64url');
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += SEAL_LINE_WIDTH) lines.push(text.slice(i, i + SEAL_LINE_WIDTH));
  return lines.join('\n');
}

/**
 * The payload's bytes, or null when it is damaged in any way (not text, bad characters, non-canonical encoding,
 * shorter than the ephemeral key, nonce and tag). Only a payload of another format version is reported apart:
 * that one needs an upgrade, not a backup.
 */
function dearmor(payload: string): Buffer | null {
  if (typeof payload !== 'string') return null;
  const text = payload.replace(/\r?\n/g, '').trim();
  if (!text.startsWith(SEAL_PREFIX)) {
    const version = /^mv\d+\./.test(text) ? text.slice(0, text.indexOf('.')) : null;
    if (version) {
      throw corruption(
        `Sealed payload uses format ${version}, which this version of memvault cannot open. Upgrade memvault.`,
      );
    }
    return null;
  }
  const body = text.slice(SEAL_PREFIX.length);
  if (!BODY.test(body)) return null;
  const bytes = Buffer.from(body, 'base64url');
  // Canonical encoding only: unused trailing bits must be zero, so no two texts decode to the same payload.
  if (bytes.toString('base64url') !== body) return null;
  // Too short to hold a whole nonce and tag: refused before any key agreement or decryption.
  if (bytes.length < HEADER_BYTES + TAG_BYTES) return null;
  return bytes;
}

/**
 * Seals bytes to a level's X25519 public key: ephemeral X25519 → HKDF-SHA256 → the level's AEAD.
 * Returns the armored payload (ASCII, lines ≤ 76 characters, no back-tick). Layout: docs/security.md.
 * `random` replaces the system's randomness for the ephemeral key and nonce (known-answer tests only).
 */
export function sealToPublicKey(
  recipientPublic: Uint8Array | RecipientKey,
  ctx: SealContext,
  plaintext: Uint8Array,
  random?: RandomSource,
): string {
  checkContext(ctx);
  const recipient = recipientPublic instanceof Uint8Array ? recipientKey(recipientPublic) : recipientPublic;
  // The ephemeral key is random bytes imported, never generateKeyPairSync (see newX25519PrivateKey).
  const draw = random ?? randomBytes;
  const secret = Buffer.from(draw(X25519_KEY_BYTES));
  const nonce = Buffer.from(draw(NONCE_BYTES));
  if (secret.length !== X25519_KEY_BYTES || nonce.length !== NONCE_BYTES) {
    secret.fill(0);
    throw new RangeError('random source returned the wrong number of bytes');
  }
  const ephemeral = x25519PrivateKey(secret);
  secret.fill(0);
  const ephemeralPublic = rawPublicKey(ephemeral);
  let shared: Buffer;
  try {
    shared = x25519(ephemeral, recipient.key);
  } catch (cause) {
    throw new MemvaultError('SECURITY_ERROR', 'The recipient public key is not a valid X25519 key.', { cause });
  }
  const key = contentKey(ctx.level, shared, ephemeralPublic, recipient.raw);
  shared.fill(0);
  try {
    const cipher = newCipher(ctx.level, key, nonce);
    // plaintextLength is what ChaCha20-Poly1305's typings ask for; GCM ignores it.
    cipher.setAAD(sealAd(ctx), { plaintextLength: plaintext.byteLength });
    const body = cipher.update(plaintext);
    const final = cipher.final();
    return armor(Buffer.concat([ephemeralPublic, nonce, body, final, cipher.getAuthTag()]));
  } finally {
    key.fill(0);
  }
}

/** A recipient public key, imported once. */
export interface RecipientKey {
  readonly raw: Buffer;
  readonly key: KeyObject;
}

/** Imports a raw X25519 public key. @throws SECURITY_ERROR when it is not 32 bytes. */
export function recipientKey(raw: Uint8Array): RecipientKey {
  try {
    return { raw: Buffer.from(raw), key: x25519PublicKey(raw) };
  } catch (cause) {
    throw new MemvaultError('SECURITY_ERROR', 'The recipient public key is not a valid X25519 key.', { cause });
  }
}

/**
 * Opens a payload sealed by `sealToPublicKey` with the level's private key.
 * @throws DATA_CORRUPTION for any payload that does not open: edited, truncated, moved, wrong key or version.
 */
export function openWithPrivateKey(
  privateKey: KeyObject,
  recipientPublic: Uint8Array,
  ctx: SealContext,
  payload: string,
): Buffer {
  checkContext(ctx);
  // One error for every way a payload can fail, so the answer tells an attacker nothing about which check
  // caught the change (length, encoding, key agreement or the AEAD tag).
  const failed = (cause?: unknown) =>
    corruption(
      `Sealed entry ${ctx.entryId} does not open: it was edited, truncated, moved from another user, level or entry, or sealed to other keys.`,
      { entryId: ctx.entryId, level: ctx.level },
      cause,
    );
  const bytes = dearmor(payload);
  if (!bytes) throw failed();
  const ephemeralPublic = bytes.subarray(0, X25519_KEY_BYTES);
  const nonce = bytes.subarray(X25519_KEY_BYTES, HEADER_BYTES);
  const body = bytes.subarray(HEADER_BYTES, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  let shared: Buffer;
  try {
    shared = x25519(privateKey, x25519PublicKey(ephemeralPublic));
  } catch (cause) {
    throw failed(cause);
  }
  const key = contentKey(ctx.level, shared, ephemeralPublic, recipientPublic);
  shared.fill(0);
  try {
    const decipher = newDecipher(ctx.level, key, nonce);
    decipher.setAAD(sealAd(ctx), { plaintextLength: body.length });
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch (cause) {
    throw failed(cause);
  } finally {
    key.fill(0);
  }
}

/** The subset of the keyring a sealer needs: public keys only. */
export type PublicKeySource = {
  publicKey(userId: UserId, level: SecurityLevel): Promise<Uint8Array>;
  /** The keyring's generation now (see `EntrySealer.keyGeneration`); a source without it never changes keys. */
  generation?(userId: UserId): Promise<number>;
};

/**
 * The write side: seals to the user's public keys, so any channel can store a secret while its level is locked.
 * With `level1Plain`, level 1 is kept in plain Markdown (`seals(1)` is false; the vault does not call `seal`).
 */
export function createSealer(
  keyring: PublicKeySource,
  opts: { level1Plain: boolean; random?: RandomSource },
): EntrySealer {
  const { random } = opts;
  // Imported public keys, per user and level; re-imported whenever the keyring returns different bytes (rotation).
  const imported = new Map<string, RecipientKey>();
  const generation = keyring.generation?.bind(keyring);
  return {
    ...(generation ? { keyGeneration: (userId: UserId) => generation(userId) } : {}),
    seals: (level) => !(level === 1 && opts.level1Plain),
    async seal(ctx, plaintext) {
      if (typeof plaintext !== 'string' || LONE_SURROGATE.test(plaintext)) {
        throw validationError('Text to seal must be valid Unicode (no lone surrogates).', { field: 'content' });
      }
      checkContext(ctx);
      const raw = await keyring.publicKey(ctx.userId, ctx.level);
      const slot = `${ctx.userId}/${ctx.level}`;
      let recipient = imported.get(slot);
      if (!recipient?.raw.equals(raw)) {
        recipient = recipientKey(raw);
        imported.set(slot, recipient);
      }
      return sealToPublicKey(recipient, ctx, Buffer.from(plaintext, 'utf8'), random);
    },
  };
}

/** An opener that can also forget its keys. */
export interface DisposableOpener extends EntryOpener {
  /** Zeroes the key copies it holds and drops them; afterwards it opens nothing. */
  dispose(): void;
}

/**
 * The read side for one session or command: holds copies of the unlocked private keys (raw 32 bytes per level).
 * Opening a level it does not hold is SECURITY_ERROR insufficient_permissions; any payload that fails to open is
 * DATA_CORRUPTION.
 */
export function createOpener(userId: UserId, keys: ReadonlyMap<SecurityLevel, Uint8Array>): DisposableOpener {
  const held = new Map<SecurityLevel, { raw: Buffer; privateKey: KeyObject; publicKey: Buffer }>();
  for (const [level, raw] of keys) {
    if (!isSecurityLevel(level)) throw validationError('Security level must be 1 to 4.', { field: 'level' });
    if (raw.byteLength !== X25519_KEY_BYTES) throw validationError('A level key must be 32 bytes.', { field: 'keys' });
    const copy = Buffer.from(raw);
    const privateKey = x25519PrivateKey(copy);
    held.set(level, { raw: copy, privateKey, publicKey: rawPublicKey(privateKey) });
  }
  return {
    canOpen: (level) => held.has(level),
    open(ctx, payload) {
      if (ctx.userId !== userId) {
        throw corruption(`Sealed entry ${ctx.entryId} belongs to another user's vault.`, { entryId: ctx.entryId });
      }
      const key = held.get(ctx.level);
      if (!key) {
        throw securityError('insufficient_permissions', `Level ${ctx.level} is locked: unlock it to read this entry.`);
      }
      return openWithPrivateKey(key.privateKey, key.publicKey, ctx, payload).toString('utf8');
    },
    dispose() {
      for (const key of held.values()) key.raw.fill(0);
      held.clear();
    },
  };
}

/**
 * Seals binary data (a search index snapshot) through the port's string API: base64 inside the payload.
 */
export function sealBytes(sealer: EntrySealer, ctx: SealContext, bytes: Uint8Array): Promise<string> {
  return sealer.seal(ctx, Buffer.from(bytes).toString('base64'));
}

/** The inverse of `sealBytes`. @throws DATA_CORRUPTION when the payload does not open or is not base64. */
export function openBytes(opener: EntryOpener, ctx: SealContext, payload: string): Uint8Array {
  const text = opener.open(ctx, payload);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text)
    throw corruption('Sealed blob is not base64 inside.', { entryId: ctx.entryId });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Opens with `first`, and what `first` cannot open (DATA_CORRUPTION: sealed to other keys) with `second`: the
 * two generations of keys of an unfinished rotation, where entries written before it are sealed to the old keys
 * and those written since to the new ones. A payload neither opens is reported with `first`'s error.
 */
export function eitherOpener(first: DisposableOpener, second: DisposableOpener): DisposableOpener {
  return {
    canOpen: (level) => first.canOpen(level) && second.canOpen(level),
    open(ctx, payload) {
      try {
        return first.open(ctx, payload);
      } catch (error) {
        if (!(error instanceof MemvaultError) || error.code !== 'DATA_CORRUPTION') throw error;
        try {
          return second.open(ctx, payload);
        } catch {
          throw error;
        }
      }
    },
    dispose() {
      first.dispose();
      second.dispose();
    },
  };
}
