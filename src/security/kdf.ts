import { hkdfSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { validationError } from '../core/errors.js';

/** Argon2id cost parameters (memory in KiB). Stored in each keyring so they can be raised later. */
export interface KdfParams {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/**
 * The default: 64 MiB, 3 passes, 1 lane — above OWASP's minimum (19 MiB, t=2, p=1). Measured at about
 * 150–400 ms per derivation on a 2-core server (bench/results/security.md): slow for guessing, fine for unlocking.
 */
export const DEFAULT_KDF: KdfParams = Object.freeze({ memoryCost: 65536, timeCost: 3, parallelism: 1 });

/** OWASP's floor for Argon2id (Password Storage Cheat Sheet). */
export const OWASP_MIN_KDF: KdfParams = Object.freeze({ memoryCost: 19456, timeCost: 2, parallelism: 1 });

/** Argon2id output length and salt length, in bytes. */
export const KDF_OUTPUT_BYTES = 32;
export const KDF_SALT_BYTES = 16;

/** Longest password accepted, in UTF-16 code units; longer input is refused before any work is done. */
export const MAX_PASSWORD_LENGTH = 1024;

const ARGON2ID = 2; // @node-rs/argon2 Algorithm.Argon2id (a const enum, which isolatedModules cannot import)

/** Whether the parameters are integers in the ranges Argon2 accepts and a server can afford. */
export function isValidKdfParams(params: unknown): params is KdfParams {
  if (typeof params !== 'object' || params === null) return false;
  const { memoryCost, timeCost, parallelism } = params as Record<string, unknown>;
  return (
    Number.isInteger(parallelism) &&
    (parallelism as number) >= 1 &&
    (parallelism as number) <= 16 &&
    Number.isInteger(memoryCost) &&
    (memoryCost as number) >= 8 * (parallelism as number) &&
    (memoryCost as number) <= 4 * 1024 * 1024 &&
    Number.isInteger(timeCost) &&
    (timeCost as number) >= 1 &&
    (timeCost as number) <= 64
  );
}

export function assertKdfParams(params: KdfParams): void {
  if (!isValidKdfParams(params)) {
    throw validationError(
      'Invalid Argon2id parameters: memoryCost (KiB) ≥ 8×parallelism and ≤ 4 GiB, timeCost 1–64, parallelism 1–16.',
      { field: 'kdf' },
    );
  }
}

/**
 * Bounds how many Argon2id derivations run at once: each holds `memoryCost` KiB, so a burst of sign-ins
 * must queue rather than exhaust memory.
 */
class Semaphore {
  #free: number;
  readonly #waiting: Array<() => void> = [];
  constructor(size: number) {
    this.#free = size;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

const argonSlots = new Semaphore(Math.max(1, availableParallelism()));

/**
 * The native Argon2 addon loads with the first derivation: most CLI commands (list, search without the password)
 * derive nothing, and loading it cost them ~10–15 ms.
 */
let argon2: Promise<typeof import('@node-rs/argon2')> | undefined;

/**
 * Argon2id(password, salt) → 32 bytes. The password is NFC-normalised first, so the same password typed on
 * different keyboards (composed or decomposed accents) derives the same key.
 */
export async function argon2id(password: string, salt: Uint8Array, params: KdfParams): Promise<Buffer> {
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw validationError(`Password too long: at most ${MAX_PASSWORD_LENGTH} characters.`, { field: 'password' });
  }
  argon2 ??= import('@node-rs/argon2');
  const { hashRaw } = await argon2;
  return argonSlots.run(() =>
    hashRaw(password.normalize('NFC'), {
      algorithm: ARGON2ID,
      memoryCost: params.memoryCost,
      timeCost: params.timeCost,
      parallelism: params.parallelism,
      outputLen: KDF_OUTPUT_BYTES,
      salt,
    }),
  );
}

/** HKDF-SHA256 (RFC 5869) with a UTF-8 `info`. */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info, 'utf8'), length));
}

/** Concatenates byte strings into a fresh buffer (callers zero it when it held key material). */
export function concatBytes(...parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
}
