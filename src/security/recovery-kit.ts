import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { corruption, notFound, securityError, validationError } from '../core/errors.js';
import type { RecoveryKitStatus, RecoveryKits } from '../ports/account.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { DocumentStore } from '../ports/documents.js';
import type { AuthStore } from './auth-store.js';
import { documentsOf } from './file-documents.js';
import { hkdfSha256 } from './kdf.js';
import type { KeyringStore, RecoveryLayers } from './keyring.js';

const FORMAT = 'memvault-recovery-kit';
const CODE_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Crockford's base-32: no I, L, O or U, so a code read aloud or copied by hand has no look-alikes. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const KIT_LEVELS = [2, 3, 4] as const;
const kitName = (userId: UserId) => `RECOVERY.${userId}.json`;

/** 32 random bytes as 52 Crockford base-32 characters in 13 groups of 4 (256 bits; the last 4 bits are zero). */
export function formatCode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out.match(/.{1,4}/g)!.join('-');
}

/**
 * The bytes of a code as a person types it back: any case, with or without dashes and spaces; O is read as 0 and
 * I or L as 1 (Crockford). @throws VALIDATION_ERROR for anything that cannot be a code (never echoing it).
 */
export function parseCode(typed: string): Buffer {
  const clean = String(typed).toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  const length = Math.ceil((CODE_BYTES * 8) / 5);
  if (clean.length !== length || [...clean].some((c) => !ALPHABET.includes(c))) {
    throw validationError(
      `A recovery code is ${length} letters and digits (13 groups of 4, like ABCD-…); check what you typed.`,
      { field: 'code' },
    );
  }
  const out = Buffer.alloc(CODE_BYTES);
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const c of clean) {
    value = (value << 5) | ALPHABET.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      if (at < CODE_BYTES) out[at++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

interface KitFile {
  readonly format: typeof FORMAT;
  readonly version: 1;
  readonly userId: string;
  readonly createdAt: string;
  readonly prf: boolean;
  readonly prfGeneration: number;
  readonly publicKeys: Record<string, string>;
  readonly salt: string;
  readonly sealed: string;
}

/**
 * Recovery kits on disk: `users/<E164>/RECOVERY.<E164>.json` (0600) holds the password-layer contents of levels 2–4
 * (see `KeyringStore.passwordLayers`) sealed with AES-256-GCM under HKDF(master ‖ code, salt, "memvault/v1/
 * recovery-kit/<E164>"), bound (AD) to the public keys and PRF state they belong to. The code is 256 random bits,
 * so no slow KDF is needed; the master key in the derivation makes a copied data folder useless without it. In
 * PostgreSQL mode the same text is a row of `mv_documents` (src/ports/documents.ts).
 */
export class FsRecoveryKits implements RecoveryKits {
  readonly #docs: DocumentStore;
  readonly #master: Buffer;
  readonly #keyring: KeyringStore;
  readonly #auth: AuthStore;
  readonly #clock: Clock;

  constructor(options: {
    /** Where kits live: `documents` (PostgreSQL mode), else the data dir's files. */
    readonly dataDir?: string;
    readonly documents?: DocumentStore | undefined;
    readonly masterKey: Uint8Array;
    readonly keyring: KeyringStore;
    readonly authStore: AuthStore;
    readonly clock?: Clock;
  }) {
    this.#docs = documentsOf(options);
    this.#master = Buffer.from(options.masterKey);
    this.#keyring = options.keyring;
    this.#auth = options.authStore;
    this.#clock = options.clock ?? systemClock;
  }

  path(userId: UserId): string {
    return this.#docs.describe(userId, kitName(userId));
  }

  async create(userId: UserId, password: string): Promise<{ code: string; createdAt: string }> {
    const kit = await this.#keyring.passwordLayers(userId, password);
    const code = randomBytes(CODE_BYTES);
    const salt = randomBytes(32);
    const createdAt = this.#clock.now().toISOString();
    const key = this.#key(userId, code, salt);
    try {
      const plain = Buffer.from(
        JSON.stringify(Object.fromEntries(KIT_LEVELS.map((l) => [l, kit.layers.get(l)!.toString('base64')]))),
      );
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(ad(userId, kit));
      const sealed = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      plain.fill(0);
      const file: KitFile = {
        format: FORMAT,
        version: 1,
        userId,
        createdAt,
        prf: kit.prf,
        prfGeneration: kit.prfGeneration,
        publicKeys: Object.fromEntries(KIT_LEVELS.map((l) => [l, kit.publicKeys.get(l)!.toString('base64')])),
        salt: salt.toString('base64'),
        sealed: sealed.toString('base64'),
      };
      // Replaces an earlier kit: from now on only the newest code works.
      await this.#docs.write(userId, kitName(userId), `${JSON.stringify(file, null, 2)}\n`);
      return { code: formatCode(code), createdAt };
    } finally {
      key.fill(0);
      code.fill(0);
      for (const layer of kit.layers.values()) layer.fill(0);
    }
  }

  async status(userId: UserId): Promise<RecoveryKitStatus> {
    const file = await this.#read(userId);
    if (!file) return { exists: false, createdAt: null, stale: false };
    const now = await this.#keyring.recoveryIdentity(userId);
    const stale =
      now.prf !== file.prf ||
      now.prfGeneration !== file.prfGeneration ||
      KIT_LEVELS.some((l) => now.publicKeys.get(l)!.toString('base64') !== file.publicKeys[String(l)]);
    return { exists: true, createdAt: file.createdAt, stale };
  }

  async recover(userId: UserId, typed: string, newPassword: string): Promise<void> {
    const code = parseCode(typed);
    const file = await this.#read(userId);
    if (!file) {
      throw notFound(`${userId} has no recovery kit (none was made, or it was used already).`);
    }
    const kit: Omit<RecoveryLayers, 'layers'> = {
      prf: file.prf,
      prfGeneration: file.prfGeneration,
      publicKeys: new Map(KIT_LEVELS.map((l) => [l, Buffer.from(file.publicKeys[String(l)] ?? '', 'base64')] as const)),
    };
    const key = this.#key(userId, code, Buffer.from(file.salt, 'base64'));
    code.fill(0);
    const blob = Buffer.from(file.sealed, 'base64');
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(0, NONCE_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(ad(userId, kit));
      decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
      plain = Buffer.concat([decipher.update(blob.subarray(NONCE_BYTES, blob.length - TAG_BYTES)), decipher.final()]);
    } catch {
      // AES-GCM checks its tag in constant time; a wrong code and an edited file look alike, on purpose.
      throw securityError('authentication_failed', 'That recovery code is not the one of this kit.');
    } finally {
      key.fill(0);
    }
    const layers = new Map<SecurityLevel, Buffer>();
    try {
      const parsed = JSON.parse(plain.toString('utf8')) as Record<string, string>;
      for (const l of KIT_LEVELS) layers.set(l, Buffer.from(parsed[String(l)] ?? '', 'base64'));
      await this.#keyring.resetPassword(userId, { ...kit, layers }, newPassword);
    } finally {
      plain.fill(0);
      for (const layer of layers.values()) layer.fill(0);
    }
    // Used once: the kit goes, with the second factor and every session made under the forgotten password.
    await this.#docs.remove(userId, kitName(userId));
    await this.#auth.update(userId, (record) => {
      record.totp = null;
      record.lockout = null;
      record.credentialEpoch += 1;
    });
  }

  #key(userId: UserId, code: Uint8Array, salt: Uint8Array): Buffer {
    const ikm = Buffer.concat([this.#master, code]);
    try {
      return hkdfSha256(ikm, salt, `memvault/v1/recovery-kit/${userId}`, 32);
    } finally {
      ikm.fill(0);
    }
  }

  async #read(userId: UserId): Promise<KitFile | null> {
    const text = (await this.#docs.read(userId, kitName(userId)))?.text;
    if (text === undefined) return null;
    try {
      const file = JSON.parse(text) as KitFile;
      if (file.format !== FORMAT || file.version !== 1 || file.userId !== userId) throw new Error('unexpected shape');
      return file;
    } catch (error) {
      throw corruption(`The recovery kit of ${userId} is damaged; make a new one.`, { userId }, error);
    }
  }
}

function ad(userId: UserId, kit: Omit<RecoveryLayers, 'layers'>): Buffer {
  return Buffer.from(
    JSON.stringify([
      FORMAT,
      userId,
      kit.prf,
      kit.prfGeneration,
      KIT_LEVELS.map((l) => kit.publicKeys.get(l)?.toString('base64') ?? ''),
    ]),
  );
}
