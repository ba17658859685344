import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LEVELS, type SecurityLevel, isSecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import {
  MemvaultError,
  corruption,
  isMemvaultError,
  notFound,
  securityError,
  storageError,
  validationError,
} from '../core/errors.js';
import type { DocumentStore } from '../ports/documents.js';
import { type DocumentsOption, documentsOf } from './file-documents.js';
import { generateX25519, rawPublicKey, x25519PrivateKey, X25519_KEY_BYTES } from './crypto-x25519.js';
import {
  DEFAULT_KDF,
  KDF_OUTPUT_BYTES,
  KDF_SALT_BYTES,
  type KdfParams,
  argon2id,
  assertKdfParams,
  concatBytes,
  hkdfSha256,
  isValidKdfParams,
} from './kdf.js';

export type { KdfParams } from './kdf.js';

/** Secrets that unlock levels 2–4: the password, and for level 4 the passkey's PRF output once enrolled. */
/** The layers under the password of levels 2–4 and the keys they belong to (see `passwordLayers`). */
export interface RecoveryLayers {
  readonly layers: ReadonlyMap<SecurityLevel, Buffer>;
  readonly prf: boolean;
  readonly prfGeneration: number;
  readonly publicKeys: ReadonlyMap<SecurityLevel, Buffer>;
}

export interface UnlockSecrets {
  readonly password?: string;
  readonly prf?: Uint8Array;
}

const FORMAT = 'memvault-keyring';
/** Version 2 adds `prfGeneration`; version 1 files are read (their PRF layer is of their generation) and rewritten as 2. */
const VERSION = 2 as const;
const GENERATION_FORMAT = 'memvault-keyring-generation';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const WRAPPED_BYTES = NONCE_BYTES + X25519_KEY_BYTES + TAG_BYTES;
const PRF_MIN_BYTES = 16;
const PRF_MAX_BYTES = 64;

interface WrappedLevel {
  readonly publicKey: Buffer;
  /** nonce ‖ AES-256-GCM(ciphertext) ‖ tag; for level 4 with PRF, the plaintext is itself such a blob. */
  readonly wrapped: Buffer;
}

/** The keyring as held in memory after its MAC checked out. */
interface Keyring {
  readonly version: 1 | 2;
  readonly userId: UserId;
  /** Grows by one at every change of the file (rotation, password change, PRF enrolment): older copies are refused. */
  readonly generation: number;
  /** The generation level 4's inner PRF layer was sealed at: a password change re-wraps only the outer layer. */
  readonly prfGeneration: number;
  readonly hasPassword: boolean;
  readonly prf: boolean;
  readonly kdf: KdfParams;
  readonly salt: Buffer;
  readonly verifier: Buffer;
  readonly levels: Readonly<Record<SecurityLevel, WrappedLevel>>;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** Strict base64 → bytes: anything that does not re-encode to itself is refused. */
function fromB64(value: unknown, length?: number): Buffer | null {
  if (typeof value !== 'string') return null;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) return null;
  if (length !== undefined && bytes.length !== length) return null;
  return bytes;
}

/**
 * The bytes the file MAC covers: every field in a fixed order, whatever order the JSON file holds them in.
 * Built from typed values, so a field the parser would ignore cannot slip past the MAC either.
 */
function macInput(k: Keyring): Buffer {
  return Buffer.from(
    JSON.stringify([
      FORMAT,
      k.version,
      k.userId,
      k.generation,
      k.hasPassword,
      k.prf,
      ['argon2id', 19, k.kdf.memoryCost, k.kdf.timeCost, k.kdf.parallelism, b64(k.salt)],
      b64(k.verifier),
      LEVELS.map((level) => [level, b64(k.levels[level].publicKey), b64(k.levels[level].wrapped)]),
      ...(k.version >= 2 ? [k.prfGeneration] : []),
    ]),
    'utf8',
  );
}

function serialise(k: Keyring, mac: Buffer): string {
  const levels: Record<string, { publicKey: string; wrapped: string }> = {};
  for (const level of LEVELS) {
    levels[String(level)] = { publicKey: b64(k.levels[level].publicKey), wrapped: b64(k.levels[level].wrapped) };
  }
  const file = {
    format: FORMAT,
    version: k.version,
    userId: k.userId,
    generation: k.generation,
    ...(k.version >= 2 ? { prfGeneration: k.prfGeneration } : {}),
    hasPassword: k.hasPassword,
    prf: k.prf,
    kdf: {
      algorithm: 'argon2id',
      version: 19,
      memoryCost: k.kdf.memoryCost,
      timeCost: k.kdf.timeCost,
      parallelism: k.kdf.parallelism,
      salt: b64(k.salt),
    },
    verifier: b64(k.verifier),
    levels,
    mac: b64(mac),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Parses the JSON shape; null for anything malformed (the caller reports it as corruption). */
function parse(text: string): { keyring: Keyring; mac: Buffer } | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const f = raw as Record<string, unknown>;
  const kdf = f.kdf as Record<string, unknown> | undefined;
  const rawLevels = f.levels as Record<string, Record<string, unknown> | undefined> | undefined;
  if (f.format !== FORMAT || (f.version !== 1 && f.version !== 2) || typeof f.userId !== 'string') return null;
  if (!Number.isSafeInteger(f.generation) || (f.generation as number) < 1) return null;
  const prfGeneration = f.version === 1 ? f.generation : f.prfGeneration;
  if (!Number.isSafeInteger(prfGeneration) || (prfGeneration as number) < 1) return null;
  if ((prfGeneration as number) > (f.generation as number)) return null;
  if (typeof f.hasPassword !== 'boolean' || typeof f.prf !== 'boolean') return null;
  if (kdf?.algorithm !== 'argon2id' || kdf.version !== 19) return null;
  const params = { memoryCost: kdf.memoryCost, timeCost: kdf.timeCost, parallelism: kdf.parallelism };
  if (!isValidKdfParams(params)) return null;
  const salt = fromB64(kdf.salt, KDF_SALT_BYTES);
  const verifier = fromB64(f.verifier, KDF_OUTPUT_BYTES);
  const mac = fromB64(f.mac, 32);
  if (!salt || !verifier || !mac || typeof rawLevels !== 'object' || rawLevels === null) return null;
  const levels = {} as Record<SecurityLevel, WrappedLevel>;
  for (const level of LEVELS) {
    const entry = rawLevels[String(level)];
    const publicKey = fromB64(entry?.publicKey, X25519_KEY_BYTES);
    const wrapped = fromB64(entry?.wrapped);
    const expected = level === 4 && f.prf ? WRAPPED_BYTES + NONCE_BYTES + TAG_BYTES : WRAPPED_BYTES;
    if (!publicKey || !wrapped || wrapped.length !== expected) return null;
    levels[level] = { publicKey, wrapped };
  }
  return {
    keyring: {
      version: f.version,
      userId: f.userId as UserId,
      generation: f.generation as number,
      prfGeneration: prfGeneration as number,
      hasPassword: f.hasPassword,
      prf: f.prf,
      kdf: params,
      salt,
      verifier,
      levels,
    },
    mac,
  };
}

function aesGcmSeal(key: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(ad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Opens `nonce ‖ ciphertext ‖ tag`; null when the key or the data is wrong. */
function aesGcmOpen(key: Uint8Array, blob: Uint8Array, ad: Uint8Array): Buffer | null {
  if (blob.length < NONCE_BYTES + TAG_BYTES) return null;
  const nonce = blob.subarray(0, NONCE_BYTES);
  const body = blob.subarray(NONCE_BYTES, blob.length - TAG_BYTES);
  const tag = blob.subarray(blob.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(ad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return null;
  }
}

/** The keyring's document (`KEYRING.<E164>.json`), its pre-rotation copy and its generation record. */
const keyringName = (userId: UserId) => `KEYRING.${userId}.json`;
const previousName = (userId: UserId) => `KEYRING.${userId}.json.previous`;
const generationName = (userId: UserId) => `KEYRING.${userId}.json.generation`;

/**
 * Per-user key pairs for levels 1–4, private keys wrapped under the master key (level 1) or the master key and
 * the password (levels 2–4, plus the passkey PRF for level 4), in `dataDir/users/<E164>/KEYRING.<E164>.json` (in
 * PostgreSQL mode the same text in `mv_documents`: src/ports/documents.ts).
 * The whole file is MAC'd under a master-derived key. Format and derivations: docs/security.md.
 */
export class KeyringStore {
  readonly #docs: DocumentStore;
  readonly #master: Buffer;
  readonly #kdf: KdfParams;
  readonly #macKey: Buffer;
  readonly #generationKey: Buffer;
  readonly #publicKeys = new Map<
    UserId,
    { version: string; generation: number; keys: ReadonlyMap<SecurityLevel, Buffer> }
  >();
  readonly #dummySalt = randomBytes(KDF_SALT_BYTES);

  /** `documents`: where keyrings live (PostgreSQL mode); default the data dir's files. */
  constructor(opts: DocumentsOption & { masterKey: Uint8Array; kdf?: KdfParams }) {
    if (opts.masterKey.byteLength !== 32) {
      throw new MemvaultError('SECURITY_ERROR', 'The master key must be 32 bytes.');
    }
    this.#docs = documentsOf(opts);
    this.#master = Buffer.from(opts.masterKey);
    this.#kdf = { ...(opts.kdf ?? DEFAULT_KDF) };
    assertKdfParams(this.#kdf);
    this.#macKey = hkdfSha256(this.#master, Buffer.alloc(0), 'memvault/v1/keyring/mac', 32);
    this.#generationKey = hkdfSha256(this.#master, Buffer.alloc(0), 'memvault/v1/keyring/generation', 32);
  }

  /** Where a user's keyring lives: its file's path (file mode), or its row (PostgreSQL mode). */
  path(userId: UserId): string {
    return this.#docs.describe(userId, keyringName(userId));
  }

  async exists(userId: UserId): Promise<boolean> {
    return (await this.#docs.version(userId, keyringName(userId))) !== undefined;
  }

  /**
   * Creates the user's keyring: four fresh key pairs, levels 2–4 wrapped under `password` (an empty one, with
   * `hasPassword: false`, when null). @throws CONFLICT when the user already has a keyring.
   */
  async create(userId: UserId, password: string | null): Promise<void> {
    await this.#exclusive(userId, true, async () => {
      const file = this.path(userId);
      if (await this.exists(userId)) {
        throw new MemvaultError('CONFLICT', 'This user already has a keyring.', { details: { file } });
      }
      const salt = randomBytes(KDF_SALT_BYTES);
      // A keyring made again after its file was lost starts above every generation recorded for it, so the
      // record never refuses it and a copy of the lost one can never come back.
      const generation = ((await this.#recordedGeneration(userId)) ?? 0) + 1;
      const argon = await argon2id(password ?? '', salt, this.#kdf);
      const pairs = LEVELS.map(() => generateX25519());
      try {
        const base = {
          version: VERSION,
          userId,
          generation,
          prfGeneration: generation,
          hasPassword: password !== null,
          prf: false,
          kdf: this.#kdf,
          salt,
        } as const;
        const levels = {} as Record<SecurityLevel, WrappedLevel>;
        for (const level of LEVELS) {
          const pair = pairs[level - 1]!;
          levels[level] = {
            publicKey: pair.publicKey,
            wrapped: this.#wrap(base, level, pair.publicKey, pair.privateKey, argon, undefined),
          };
        }
        const keyring: Keyring = { ...base, verifier: this.#verifier(userId, salt, argon), levels };
        if (!(await this.#docs.write(userId, keyringName(userId), this.#serialise(keyring), { exclusive: true }))) {
          throw new MemvaultError('CONFLICT', 'This user already has a keyring.', { details: { file } });
        }
        await this.#recordGeneration(userId, keyring.generation);
      } finally {
        argon.fill(0);
        for (const pair of pairs) pair.privateKey.fill(0);
      }
    });
  }

  async hasPassword(userId: UserId): Promise<boolean> {
    return (await this.#load(userId)).hasPassword;
  }

  async prfEnrolled(userId: UserId): Promise<boolean> {
    return (await this.#load(userId)).prf;
  }

  /**
   * The level's public key (a copy). Cached per process and keyed by the file's identity, so a rotation by this
   * or another process (`memvault keys rotate` while the server runs) is seen at the next seal.
   */
  async publicKey(userId: UserId, level: SecurityLevel): Promise<Uint8Array> {
    if (!isSecurityLevel(level)) throw new MemvaultError('VALIDATION_ERROR', 'Security level must be 1 to 4.');
    return Uint8Array.from((await this.#current(userId)).keys.get(level)!);
  }

  /**
   * The generation of the keyring as it is now (same cache as `publicKey`). Each answer describes the file as of
   * its own stat: a file never returns to an earlier version, so an entry cached under the version seen now was
   * read from that very file. Generations only grow, so two equal answers mean `publicKey` gave the same keys
   * at every moment in between.
   */
  async generation(userId: UserId): Promise<number> {
    return (await this.#current(userId)).generation;
  }

  async #current(userId: UserId): Promise<{ generation: number; keys: ReadonlyMap<SecurityLevel, Buffer> }> {
    const version = await this.#docs.version(userId, keyringName(userId));
    if (version === undefined) throw notFound('This user has no keyring yet.');
    let cached = this.#publicKeys.get(userId);
    if (!cached || cached.version !== version) {
      const keyring = await this.#load(userId);
      cached = {
        version,
        generation: keyring.generation,
        keys: new Map(LEVELS.map((l) => [l, keyring.levels[l].publicKey] as const)),
      };
      this.#publicKeys.set(userId, cached);
    }
    return cached;
  }

  /**
   * Unwraps the private keys of `levels`. Level 1 needs no secrets; 2–4 need the password (and `prf` for level 4
   * when PRF was enrolled). One Argon2id computation, whatever the number of levels.
   * @throws SECURITY_ERROR authentication_failed (wrong or missing password), biometric_failed (missing or wrong
   *   PRF for level 4); NOT_FOUND without a keyring; DATA_CORRUPTION when the file was edited.
   */
  async unwrapMany(
    userId: UserId,
    levels: readonly SecurityLevel[],
    secrets: UnlockSecrets,
  ): Promise<Map<SecurityLevel, Uint8Array>> {
    return this.#unwrapFrom(await this.#load(userId), levels, secrets);
  }

  /** One Argon2id and a constant-time compare. An unknown user burns the same time and gets false. */
  async verifyPassword(userId: UserId, password: string): Promise<boolean> {
    if (!(await this.exists(userId))) return this.dummyVerify(password);
    const keyring = await this.#load(userId);
    const argon = await argon2id(password, keyring.salt, keyring.kdf);
    try {
      return timingSafeEqual(this.#verifier(userId, keyring.salt, argon), keyring.verifier);
    } finally {
      argon.fill(0);
    }
  }

  /** Burns the same Argon2id time for an unknown user, so a wrong user and a wrong password look alike. */
  async dummyVerify(password: string): Promise<false> {
    const argon = await argon2id(password, this.#dummySalt, this.#kdf);
    timingSafeEqual(hkdfSha256(argon, this.#dummySalt, 'memvault/v1/verifier/dummy', 32), Buffer.alloc(32));
    argon.fill(0);
    return false;
  }

  /**
   * Re-wraps every level under a new password (new salt, current KDF parameters) at generation + 1, so the file
   * from before the change (which the old password opens) is refused from now on; entries are untouched.
   * `oldPassword` may be null only for a user created without a password.
   * @throws CONFLICT while a key rotation is unfinished (its previous keys are wrapped under the old password).
   */
  async changePassword(userId: UserId, oldPassword: string | null, newPassword: string): Promise<void> {
    await this.#exclusive(userId, false, async () => {
      await this.#refuseWhileRotating(userId, 'change the password');
      const keyring = await this.#load(userId);
      if (oldPassword === null && keyring.hasPassword) {
        throw securityError('authentication_failed', 'The current password is required to change it.');
      }
      const oldArgon = await this.#authenticate(keyring, oldPassword ?? '');
      const salt = randomBytes(KDF_SALT_BYTES);
      const newArgon = await argon2id(newPassword, salt, this.#kdf);
      try {
        const next = {
          ...keyring,
          version: VERSION,
          generation: keyring.generation + 1,
          hasPassword: true,
          kdf: this.#kdf,
          salt,
        };
        const levels = { ...keyring.levels };
        for (const level of LEVELS) {
          // Level 4 under PRF keeps its inner PRF layer (bound to prfGeneration): only the outer layer is replaced.
          const inner = this.#openLayer(keyring, level, oldArgon);
          try {
            levels[level] = {
              publicKey: keyring.levels[level].publicKey,
              wrapped: this.#sealLayer(next, level, keyring.levels[level].publicKey, inner, newArgon),
            };
          } finally {
            inner.fill(0);
          }
        }
        await this.#store({ ...next, verifier: this.#verifier(userId, salt, newArgon), levels });
      } finally {
        oldArgon.fill(0);
        newArgon.fill(0);
      }
    });
  }

  /**
   * What a recovery kit keeps (docs/backup.md, "Recovery kit"): the layer under the password of levels 2–4 — the
   * private keys of 2 and 3, and level 4's as it sits inside the password layer (still sealed by the passkey PRF
   * when one is enrolled, so the kit never opens level 4 without the passkey). A password change leaves these
   * unchanged; a rotation or a passkey enrolment replaces them. @throws SECURITY_ERROR for a wrong password.
   */
  async passwordLayers(userId: UserId, password: string): Promise<RecoveryLayers> {
    const keyring = await this.#load(userId);
    if (!keyring.hasPassword) {
      throw validationError('A recovery kit replaces a forgotten password: set a password first.');
    }
    const argon = await this.#authenticate(keyring, password);
    const layers = new Map<SecurityLevel, Buffer>();
    try {
      for (const level of [2, 3, 4] as const) layers.set(level, this.#openLayer(keyring, level, argon));
    } catch (error) {
      for (const layer of layers.values()) layer.fill(0);
      throw error;
    } finally {
      argon.fill(0);
    }
    return { layers, ...this.#recoveryIdentity(keyring) };
  }

  /** The public keys and PRF state a kit's layers belong to: a kit holding others is stale. */
  async recoveryIdentity(userId: UserId): Promise<Omit<RecoveryLayers, 'layers'>> {
    return this.#recoveryIdentity(await this.#load(userId));
  }

  #recoveryIdentity(keyring: Keyring): Omit<RecoveryLayers, 'layers'> {
    return {
      prf: keyring.prf,
      prfGeneration: keyring.prfGeneration,
      publicKeys: new Map(([2, 3, 4] as const).map((l) => [l, Buffer.from(keyring.levels[l].publicKey)] as const)),
    };
  }

  /**
   * Sets `newPassword` without the old one, from the layers a recovery kit kept (generation + 1, like a password
   * change, so the keyring from before is refused from now on). The layers must belong to the keys the keyring
   * holds now. @throws CONFLICT when they do not (rotated, or a passkey enrolled since the kit) or while a rotation
   * is unfinished.
   */
  async resetPassword(userId: UserId, kit: RecoveryLayers, newPassword: string): Promise<void> {
    await this.#exclusive(userId, false, async () => {
      await this.#refuseWhileRotating(userId, 'use a recovery kit');
      const keyring = await this.#load(userId);
      const now = this.#recoveryIdentity(keyring);
      const stale =
        now.prf !== kit.prf ||
        now.prfGeneration !== kit.prfGeneration ||
        ([2, 3, 4] as const).some((l) => !now.publicKeys.get(l)!.equals(kit.publicKeys.get(l) ?? Buffer.alloc(0)));
      if (stale) {
        throw new MemvaultError(
          'CONFLICT',
          'This recovery kit was made for keys this person no longer has (they were rotated, or a passkey was enrolled since). It cannot restore them.',
        );
      }
      for (const level of [2, 3, 4] as const) {
        // A private key (not level 4 under a passkey) must be the one of its public key.
        if (level === 4 && keyring.prf) continue;
        const layer = kit.layers.get(level);
        if (!layer || !timingSafeEqual(rawPublicKey(x25519PrivateKey(layer)), keyring.levels[level].publicKey)) {
          throw corruption(`The recovery kit's level ${level} key does not match the keyring.`);
        }
      }
      const salt = randomBytes(KDF_SALT_BYTES);
      const newArgon = await argon2id(newPassword, salt, this.#kdf);
      try {
        const next = {
          ...keyring,
          version: VERSION,
          generation: keyring.generation + 1,
          hasPassword: true,
          kdf: this.#kdf,
          salt,
        };
        const levels = { ...keyring.levels };
        const inner1 = this.#openLayer(keyring, 1, null);
        try {
          levels[1] = {
            publicKey: keyring.levels[1].publicKey,
            wrapped: this.#sealLayer(next, 1, keyring.levels[1].publicKey, inner1, null),
          };
        } finally {
          inner1.fill(0);
        }
        for (const level of [2, 3, 4] as const) {
          const publicKey = keyring.levels[level].publicKey;
          levels[level] = {
            publicKey,
            wrapped: this.#sealLayer(next, level, publicKey, kit.layers.get(level)!, newArgon),
          };
        }
        await this.#store({ ...next, verifier: this.#verifier(userId, salt, newArgon), levels });
      } finally {
        newArgon.fill(0);
      }
    });
  }

  /**
   * Mixes a passkey's PRF output into level 4's wrapping. One PRF per keyring: enrolling again, or enrolling
   * a second passkey, is a CONFLICT (the old PRF would be needed to re-wrap).
   */
  async enrollPrf(userId: UserId, password: string, prf: Uint8Array): Promise<void> {
    checkPrf(prf);
    await this.#exclusive(userId, false, async () => {
      await this.#refuseWhileRotating(userId, 'enrol a passkey for level 4');
      const keyring = await this.#load(userId);
      if (keyring.prf) {
        throw new MemvaultError('CONFLICT', 'A passkey PRF is already enrolled for level 4.');
      }
      const argon = await this.#authenticate(keyring, password);
      try {
        const privateKey = this.#unwrap(keyring, 4, argon, undefined);
        try {
          // A new generation: putting back the file from before would drop the passkey from level 4.
          const generation = keyring.generation + 1;
          const next = { ...keyring, version: VERSION, generation, prfGeneration: generation, prf: true };
          const levels = { ...keyring.levels };
          for (const level of [1, 2, 3] as const) {
            const inner = this.#openLayer(keyring, level, argon);
            try {
              levels[level] = {
                publicKey: keyring.levels[level].publicKey,
                wrapped: this.#sealLayer(next, level, keyring.levels[level].publicKey, inner, argon),
              };
            } finally {
              inner.fill(0);
            }
          }
          const publicKey = keyring.levels[4].publicKey;
          levels[4] = { publicKey, wrapped: this.#wrap(next, 4, publicKey, privateKey, argon, prf) };
          await this.#store({ ...next, levels });
        } finally {
          privateKey.fill(0);
        }
      } finally {
        argon.fill(0);
      }
    });
  }

  /**
   * New key pairs for every level (generation + 1). Returns the old private keys. The keyring as it was is first
   * kept, durably, as `KEYRING.<E164>.json.previous`: while that file exists the rotation is unfinished
   * (`rotationPending`), `unwrapRotation` gives both generations' keys to re-seal with, and a second rotation,
   * a password change or a PRF enrolment is refused, so the only copy of the old keys is never overwritten.
   * @throws CONFLICT while an earlier rotation is unfinished.
   */
  async rotate(userId: UserId, secrets: UnlockSecrets): Promise<Map<SecurityLevel, Uint8Array>> {
    return this.#exclusive(userId, false, async () => {
      await this.#refuseWhileRotating(userId, 'rotate the keys again');
      const keyring = await this.#load(userId);
      const argon = await this.#authenticate(keyring, secrets.password);
      const old = new Map<SecurityLevel, Uint8Array>();
      const pairs = LEVELS.map(() => generateX25519());
      try {
        for (const level of LEVELS) old.set(level, this.#unwrap(keyring, level, argon, secrets.prf));
        const generation = keyring.generation + 1;
        const next = { ...keyring, version: VERSION, generation, prfGeneration: generation };
        const levels = {} as Record<SecurityLevel, WrappedLevel>;
        for (const level of LEVELS) {
          const pair = pairs[level - 1]!;
          const prf = level === 4 && keyring.prf ? secrets.prf : undefined;
          levels[level] = {
            publicKey: pair.publicKey,
            wrapped: this.#wrap(next, level, pair.publicKey, pair.privateKey, argon, prf),
          };
        }
        // Durable (fsync of the copy and of the folder) before the new keyring replaces the only other copy.
        await this.#docs.write(userId, previousName(userId), this.#serialise(keyring));
        await this.#store({ ...next, levels });
        return old;
      } catch (error) {
        for (const key of old.values()) key.fill(0);
        throw error;
      } finally {
        argon.fill(0);
        for (const pair of pairs) pair.privateKey.fill(0);
      }
    });
  }

  /** True while a rotation's re-seal has not been declared complete (`discardPrevious`). */
  async rotationPending(userId: UserId): Promise<boolean> {
    return (await this.#docs.version(userId, previousName(userId))) !== undefined;
  }

  /**
   * The private keys of every level of both generations of an unfinished rotation, to re-seal with: entries
   * written before it open with `previous`, those written since with `current`. The same secrets open both (a
   * password change waits for the rotation to finish). @throws NOT_FOUND when no rotation is unfinished.
   */
  async unwrapRotation(
    userId: UserId,
    secrets: UnlockSecrets,
  ): Promise<{
    previous: Map<SecurityLevel, Uint8Array>;
    current: Map<SecurityLevel, Uint8Array>;
    /** The generation of the kept previous keyring: pass it to `discardPrevious`. */
    previousGeneration: number;
  }> {
    const kept = await this.#load(userId, 'previous');
    const current = await this.#load(userId);
    // One Argon2id for both when the password (salt and parameters) is the same, as it always is after `rotate`.
    const samePassword =
      kept.salt.equals(current.salt) &&
      kept.verifier.equals(current.verifier) &&
      kept.kdf.memoryCost === current.kdf.memoryCost &&
      kept.kdf.timeCost === current.kdf.timeCost &&
      kept.kdf.parallelism === current.kdf.parallelism;
    if (!samePassword) {
      const previous = await this.#unwrapFrom(kept, LEVELS, secrets);
      try {
        return {
          previous,
          current: await this.#unwrapFrom(current, LEVELS, secrets),
          previousGeneration: kept.generation,
        };
      } catch (error) {
        for (const key of previous.values()) key.fill(0);
        throw error;
      }
    }
    const argon = await this.#authenticate(current, secrets.password);
    const previous = new Map<SecurityLevel, Uint8Array>();
    const now = new Map<SecurityLevel, Uint8Array>();
    try {
      for (const level of LEVELS) {
        previous.set(level, this.#unwrap(kept, level, argon, secrets.prf));
        now.set(level, this.#unwrap(current, level, argon, secrets.prf));
      }
      return { previous, current: now, previousGeneration: kept.generation };
    } catch (error) {
      for (const key of [...previous.values(), ...now.values()]) key.fill(0);
      throw error;
    } finally {
      argon.fill(0);
    }
  }

  /**
   * Unwraps keys from the keyring as it was before the last rotation (`KEYRING.<E164>.json.previous`), with the
   * secrets valid then. @throws NOT_FOUND when none is kept.
   */
  async unwrapPrevious(
    userId: UserId,
    levels: readonly SecurityLevel[],
    secrets: UnlockSecrets,
  ): Promise<Map<SecurityLevel, Uint8Array>> {
    const keyring = await this.#load(userId, 'previous');
    return this.#unwrapFrom(keyring, levels, secrets);
  }

  /**
   * Deletes the pre-rotation copy, so the retired keys are gone for good. Call only once every entry opened and
   * was re-sealed: this is what ends the rotation.
   */
  async discardPrevious(userId: UserId, generation?: number): Promise<void> {
    await this.#exclusive(userId, false, async () => {
      if (generation !== undefined) {
        // Another process may have finished this rotation and started the next one meanwhile: its kept keys are
        // not the ones this caller re-sealed away from, and must stay.
        let kept: Keyring;
        try {
          kept = await this.#load(userId, 'previous');
        } catch (error) {
          if (isMemvaultError(error, 'NOT_FOUND')) return;
          throw error;
        }
        if (kept.generation !== generation) return;
      }
      try {
        await this.#docs.remove(userId, previousName(userId));
      } catch (error) {
        if (isMemvaultError(error) && error.details?.retryable === true) throw error;
        throw storageError('Could not remove the previous keyring after the re-seal.', error);
      }
    });
  }

  // ---- internals ----

  /**
   * Serialises changes to one keyring: in this process and across processes on this host (lock file), or across
   * every server (the document's advisory lock in PostgreSQL), so a CLI rotation and a password change in the
   * server cannot interleave.
   */
  async #exclusive<T>(userId: UserId, creating: boolean, fn: () => Promise<T>): Promise<T> {
    if (!creating && !(await this.exists(userId))) throw notFound('This user has no keyring yet.');
    return this.#docs.exclusive(userId, keyringName(userId), fn);
  }

  async #unwrapFrom(
    keyring: Keyring,
    levels: readonly SecurityLevel[],
    secrets: UnlockSecrets,
  ): Promise<Map<SecurityLevel, Uint8Array>> {
    const wanted = [...new Set(levels)].sort((a, b) => a - b);
    if (!wanted.every(isSecurityLevel)) throw new MemvaultError('VALIDATION_ERROR', 'Security level must be 1 to 4.');
    const argon = wanted.some((l) => l > 1) ? await this.#authenticate(keyring, secrets.password) : null;
    const out = new Map<SecurityLevel, Uint8Array>();
    try {
      for (const level of wanted) out.set(level, this.#unwrap(keyring, level, argon, secrets.prf));
      return out;
    } catch (error) {
      for (const key of out.values()) key.fill(0);
      throw error;
    } finally {
      argon?.fill(0);
    }
  }

  async #refuseWhileRotating(userId: UserId, action: string): Promise<void> {
    if (await this.rotationPending(userId)) {
      throw new MemvaultError(
        'CONFLICT',
        `A key rotation of ${userId} is unfinished, so memvault cannot ${action} now. Finish it first: ` +
          `memvault keys finish-rotation --user ${userId} --password-stdin`,
        { details: { userId } },
      );
    }
  }

  #generationMac(userId: UserId, generation: number): Buffer {
    return createHmac('sha256', this.#generationKey)
      .update(JSON.stringify([GENERATION_FORMAT, userId, generation]))
      .digest();
  }

  /** The recorded generation; null when none is recorded yet. @throws DATA_CORRUPTION when the record was edited. */
  async #recordedGeneration(userId: UserId): Promise<number | null> {
    // `KEYRING.<E164>.json.generation`: the newest generation this instance stored, MAC'd under its own key.
    const text = (await this.#docs.read(userId, generationName(userId)))?.text;
    if (text === undefined) return null;
    type RecordFile = { format?: unknown; userId?: unknown; generation?: unknown; mac?: unknown };
    let record: RecordFile | null;
    try {
      const value: unknown = JSON.parse(text);
      record = typeof value === 'object' && value !== null ? (value as RecordFile) : null;
    } catch {
      record = null;
    }
    const mac = fromB64(record?.mac, 32);
    const generation = record?.generation;
    if (
      !record ||
      record.format !== GENERATION_FORMAT ||
      record.userId !== userId ||
      typeof generation !== 'number' ||
      !Number.isSafeInteger(generation) ||
      !mac ||
      !timingSafeEqual(mac, this.#generationMac(userId, generation))
    ) {
      throw corruption(
        `The keyring generation record of ${userId} failed its integrity check: it was edited, or the master key ` +
          'is not the one it was created with. Restore the folder from a backup.',
        { userId },
      );
    }
    return generation;
  }

  /** Raises the record to `generation`; never lowers it. Written after the keyring, so a crash leaves it behind, not ahead. */
  async #recordGeneration(userId: UserId, generation: number): Promise<void> {
    const recorded = await this.#recordedGeneration(userId);
    if (recorded !== null && recorded >= generation) return;
    const record = { format: GENERATION_FORMAT, userId, generation, mac: b64(this.#generationMac(userId, generation)) };
    await this.#docs.write(userId, generationName(userId), `${JSON.stringify(record)}\n`);
  }

  async #load(userId: UserId, which: 'current' | 'previous' = 'current'): Promise<Keyring> {
    const name = which === 'current' ? keyringName(userId) : previousName(userId);
    const file = this.#docs.describe(userId, name);
    const text = (await this.#docs.read(userId, name))?.text;
    if (text === undefined) {
      throw notFound(which === 'current' ? 'This user has no keyring yet.' : 'No previous keyring is kept.');
    }
    const parsed = parse(text);
    const tampered = () =>
      corruption(
        `Keyring ${file} failed its integrity check: it was edited, or the master key is not the one it was created with. Restore it from a backup.`,
        { file },
      );
    if (!parsed || parsed.keyring.userId !== userId) throw tampered();
    const expected = createHmac('sha256', this.#macKey).update(macInput(parsed.keyring)).digest();
    if (!timingSafeEqual(expected, parsed.mac)) throw tampered();
    if (which === 'current') await this.#checkGeneration(parsed.keyring);
    return parsed.keyring;
  }

  /**
   * Refuses a keyring older than the newest generation recorded for it: an old copy put back (rollback) would
   * let an old password in again, or seal new entries to retired keys. A newer one (the record is written after
   * the keyring, so a crash can leave it behind; or a data dir from before records existed) raises the record.
   */
  async #checkGeneration(keyring: Keyring): Promise<void> {
    const recorded = await this.#recordedGeneration(keyring.userId);
    if (recorded !== null && keyring.generation < recorded) {
      throw corruption(
        `The keyring of ${keyring.userId} is generation ${keyring.generation}, older than generation ${recorded} ` +
          'that this instance wrote: an old copy was put back. Restore the newest keyring from a backup.',
        { userId: keyring.userId, generation: keyring.generation, recorded },
      );
    }
    if (recorded === null || recorded < keyring.generation) {
      await this.#recordGeneration(keyring.userId, keyring.generation).catch((error: unknown) => {
        // Reading must still work on a read-only data dir; the record catches up at the next write.
        if (!isMemvaultError(error, 'STORAGE_ERROR')) throw error;
      });
    }
  }

  async #store(keyring: Keyring): Promise<void> {
    await this.#docs.write(keyring.userId, keyringName(keyring.userId), this.#serialise(keyring));
    this.#publicKeys.delete(keyring.userId);
    await this.#recordGeneration(keyring.userId, keyring.generation);
  }

  #serialise(keyring: Keyring): string {
    return serialise(keyring, createHmac('sha256', this.#macKey).update(macInput(keyring)).digest());
  }

  /** Runs Argon2id once and checks the verifier; returns the Argon2id output for the wrap keys. */
  async #authenticate(keyring: Keyring, password: string | undefined): Promise<Buffer> {
    if (password === undefined && keyring.hasPassword) {
      throw securityError('authentication_failed', 'A password is required to unlock this level.');
    }
    const argon = await argon2id(password ?? '', keyring.salt, keyring.kdf);
    if (!timingSafeEqual(this.#verifier(keyring.userId, keyring.salt, argon), keyring.verifier)) {
      argon.fill(0);
      throw securityError('authentication_failed', 'Wrong password.');
    }
    return argon;
  }

  #verifier(userId: UserId, salt: Buffer, argon: Buffer): Buffer {
    const ikm = concatBytes(this.#master, argon);
    try {
      return hkdfSha256(ikm, salt, `memvault/v1/verifier/${userId}`, 32);
    } finally {
      ikm.fill(0);
    }
  }

  /** The password layer's key: HKDF(master, info L1) for level 1, HKDF(master ‖ argon, info L{n}) above. */
  #wrapKey(keyring: Pick<Keyring, 'userId' | 'salt'>, level: SecurityLevel, argon: Buffer | null): Buffer {
    const info = `memvault/v1/wrap/L${level}/${keyring.userId}`;
    // Level 1 uses no salt: the Argon2id salt changes with the password, level 1's wrapping must not.
    if (level === 1) return hkdfSha256(this.#master, Buffer.alloc(0), info, 32);
    if (!argon) throw new Error('argon output required above level 1');
    const ikm = concatBytes(this.#master, argon);
    try {
      return hkdfSha256(ikm, keyring.salt, info, 32);
    } finally {
      ikm.fill(0);
    }
  }

  /**
   * The PRF layer's key for level 4: HKDF(master ‖ prf). It sits inside the password layer, so unwrapping level 4
   * takes master ‖ Argon2id(password) and master ‖ prf, while a password change re-wraps only the outer layer.
   */
  #prfKey(keyring: Pick<Keyring, 'userId'>, prf: Uint8Array): Buffer {
    const ikm = concatBytes(this.#master, prf);
    try {
      // No salt: the password's salt changes with the password, and this layer must survive that.
      return hkdfSha256(ikm, Buffer.alloc(0), `memvault/v1/wrap/L4/prf/${keyring.userId}`, 32);
    } finally {
      ikm.fill(0);
    }
  }

  #wrap(
    keyring: Pick<Keyring, 'userId' | 'salt' | 'generation' | 'prfGeneration'>,
    level: SecurityLevel,
    publicKey: Buffer,
    privateKey: Uint8Array,
    argon: Buffer | null,
    prf: Uint8Array | undefined,
  ): Buffer {
    if (prf === undefined) return this.#sealLayer(keyring, level, publicKey, privateKey, argon);
    checkPrf(prf);
    const key = this.#prfKey(keyring, prf);
    try {
      const inner = aesGcmSeal(key, privateKey, wrapAd(prfLayerOf(keyring), level, publicKey, 'prf'));
      return this.#sealLayer(keyring, level, publicKey, inner, argon);
    } finally {
      key.fill(0);
    }
  }

  #sealLayer(
    keyring: Pick<Keyring, 'userId' | 'salt' | 'generation'>,
    level: SecurityLevel,
    publicKey: Buffer,
    plaintext: Uint8Array,
    argon: Buffer | null,
  ): Buffer {
    const key = this.#wrapKey(keyring, level, argon);
    try {
      return aesGcmSeal(key, plaintext, wrapAd(keyring, level, publicKey, 'password'));
    } finally {
      key.fill(0);
    }
  }

  /** Removes the password (or master) layer: the private key, or level 4's PRF-wrapped blob. */
  #openLayer(keyring: Keyring, level: SecurityLevel, argon: Buffer | null): Buffer {
    const entry = keyring.levels[level];
    const key = this.#wrapKey(keyring, level, argon);
    try {
      const plain = aesGcmOpen(key, entry.wrapped, wrapAd(keyring, level, entry.publicKey, 'password'));
      // The MAC and the verifier already passed, so a failure here means the file was forged with the master key.
      if (!plain) throw corruption(`Keyring ${this.path(keyring.userId)}: level ${level} does not unwrap.`);
      return plain;
    } finally {
      key.fill(0);
    }
  }

  #unwrap(keyring: Keyring, level: SecurityLevel, argon: Buffer | null, prf: Uint8Array | undefined): Buffer {
    let privateKey = this.#openLayer(keyring, level, argon);
    if (level === 4 && keyring.prf) {
      if (prf === undefined) {
        privateKey.fill(0);
        throw securityError('biometric_failed', 'Level 4 needs the passkey (its PRF output) to unlock.');
      }
      const inner = privateKey;
      const key = this.#prfKey(keyring, checkPrf(prf));
      const opened = aesGcmOpen(key, inner, wrapAd(prfLayerOf(keyring), level, keyring.levels[4].publicKey, 'prf'));
      key.fill(0);
      inner.fill(0);
      if (!opened) throw securityError('biometric_failed', 'The passkey did not unlock level 4.');
      privateKey = opened;
    }
    const derived = rawPublicKey(x25519PrivateKey(privateKey));
    if (!timingSafeEqual(derived, keyring.levels[level].publicKey)) {
      privateKey.fill(0);
      throw corruption(`Keyring ${this.path(keyring.userId)}: level ${level} key pair does not match.`);
    }
    return privateKey;
  }
}

/** The AD of a wrapped key: it binds the blob to its user, level, generation, public key and layer. */
function wrapAd(
  keyring: Pick<Keyring, 'userId' | 'generation'>,
  level: SecurityLevel,
  publicKey: Buffer,
  layer: 'password' | 'prf',
): Buffer {
  return Buffer.from(
    JSON.stringify(['memvault/v1/wrap', keyring.userId, level, keyring.generation, b64(publicKey), layer]),
    'utf8',
  );
}

/** The inner PRF layer is bound to the generation it was sealed at, which a password change leaves behind. */
function prfLayerOf(keyring: Pick<Keyring, 'userId' | 'prfGeneration'>): Pick<Keyring, 'userId' | 'generation'> {
  return { userId: keyring.userId, generation: keyring.prfGeneration };
}

function checkPrf(prf: Uint8Array): Uint8Array {
  if (!(prf instanceof Uint8Array) || prf.byteLength < PRF_MIN_BYTES || prf.byteLength > PRF_MAX_BYTES) {
    throw new MemvaultError(
      'VALIDATION_ERROR',
      `The passkey PRF output must be ${PRF_MIN_BYTES}–${PRF_MAX_BYTES} bytes.`,
    );
  }
  return prf;
}
