import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { UserId } from '../core/entry.js';
import { corruption } from '../core/errors.js';
import type { DocumentStore } from '../ports/documents.js';
import { type DocumentsOption, documentsOf } from './file-documents.js';
import type { LockoutState } from './lockout.js';

/** A registered passkey (WebAuthn credential) of one user. */
export interface StoredPasskey {
  /** Credential id, base64url. */
  readonly id: string;
  /** COSE public key, base64url. */
  readonly publicKey: string;
  counter: number;
  readonly transports?: string[];
  readonly createdAt: string;
  lastUsedAt: string | null;
  readonly deviceType: 'singleDevice' | 'multiDevice';
  readonly backedUp: boolean;
  /** The authenticator reported PRF support at registration. */
  readonly prf: boolean;
}

/** Everything about a user's factors besides the password (which lives in the keyring). */
export interface AuthRecord {
  readonly version: 1;
  /** TOTP secret sealed with AES-256-GCM under a key derived from the master key; null when not enrolled. */
  totp: { readonly sealed: string; lastStep: number | null; readonly enrolledAt: string } | null;
  passkeys: StoredPasskey[];
  /** Random WebAuthn user handle (base64url): never the phone number. */
  readonly webauthnUserId: string;
  /** Salt for the PRF extension (base64url, 32 bytes): the same on every ceremony, so the output is stable. */
  readonly prfSalt: string;
  /** The credential whose PRF output wraps level 4, once enrolled. */
  prfCredentialId: string | null;
  lockout: LockoutState | null;
  /**
   * The credential epoch: bumped after every change that must end the sessions made with the old credentials
   * (a password change, "sign out everywhere"). A session is alive only while the epoch it was created under
   * is still the current one (docs/security.md, "When a session is alive"). Absent in older files: 0.
   */
  credentialEpoch: number;
}

const SEAL_VERSION = 'v1';

/**
 * Per-user `AUTH.<E164>.json` beside the user's Markdown files (mode 0600, atomic writes, one writer at a
 * time per user across processes), or the same text in PostgreSQL mode (src/ports/documents.ts). TOTP secrets inside are sealed under a key HKDF-derived from the master key
 * and bound to the user id, so a copied file opens for no other user and no other server.
 */
export class AuthStore {
  private readonly docs: DocumentStore;
  private readonly totpKey: Buffer;
  private readonly epochs = new Map<UserId, { version: string; epoch: number }>();

  /** `documents`: where the records live (PostgreSQL mode); default the data dir's files. */
  constructor(options: DocumentsOption & { masterKey: Uint8Array }) {
    this.docs = documentsOf(options);
    this.totpKey = Buffer.from(
      hkdfSync('sha256', options.masterKey, Buffer.from('memvault/auth-store'), Buffer.from('totp-secret/v1'), 32),
    );
  }

  private fileName(userId: UserId): string {
    return `AUTH.${userId}.json`;
  }

  /** The user's record, or a fresh one (not yet written) when the user has none. */
  async load(userId: UserId): Promise<AuthRecord> {
    // The store refuses a user id that is not E.164 before it touches a path or a row.
    const text = (await this.docs.read(userId, this.fileName(userId)))?.text;
    if (text === undefined) return freshRecord();
    try {
      const parsed = JSON.parse(text) as AuthRecord;
      if (parsed.version !== 1 || !Array.isArray(parsed.passkeys)) throw new Error('unexpected shape');
      parsed.credentialEpoch ??= 0;
      if (!Number.isSafeInteger(parsed.credentialEpoch) || parsed.credentialEpoch < 0) {
        throw new Error('bad credential epoch');
      }
      return parsed;
    } catch (error) {
      throw corruption(
        `The sign-in factors file of ${userId} is damaged; restore it from a backup.`,
        { userId },
        error,
      );
    }
  }

  /**
   * Reads, changes and writes the user's record as one step, holding the person's lock for this file: updates
   * from this process and from other memvault processes (the CLI beside the server) run one after the other, so
   * a lockout counter, a passkey or a spent TOTP step is never lost to a race. When `change` throws, nothing
   * is written.
   */
  update<T>(userId: UserId, change: (record: AuthRecord) => T | Promise<T>): Promise<T> {
    return this.docs.exclusive(userId, this.fileName(userId), async () => {
      const record = await this.load(userId);
      const result = await change(record);
      await this.write(userId, record);
      this.epochs.delete(userId);
      return result;
    });
  }

  /**
   * The user's current credential epoch. Re-read only when the record changed (its version: a stat, or one
   * indexed row), so checking it on every request also sees a bump made by another process or server.
   */
  async credentialEpoch(userId: UserId): Promise<number> {
    const version = await this.docs.version(userId, this.fileName(userId));
    if (version === undefined) return 0;
    const cached = this.epochs.get(userId);
    if (cached?.version === version) return cached.epoch;
    const epoch = (await this.load(userId)).credentialEpoch;
    this.epochs.set(userId, { version, epoch });
    return epoch;
  }

  /** The record's version: it changes with every write, here or in another process or server. */
  version(userId: UserId): Promise<string | undefined> {
    return this.docs.version(userId, this.fileName(userId));
  }

  /** Seals a TOTP secret for the user's record. */
  sealSecret(userId: UserId, secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.totpKey, iv, { authTagLength: 16 });
    cipher.setAAD(Buffer.from(`${SEAL_VERSION}|${userId}`));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return `${SEAL_VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  /** @throws DATA_CORRUPTION when the sealed secret was edited, moved to another user, or the master key changed. */
  openSecret(userId: UserId, sealed: string): string {
    try {
      const [version, data] = sealed.split('.');
      if (version !== SEAL_VERSION || !data) throw new Error('unknown format');
      const raw = Buffer.from(data, 'base64url');
      // A whole 12-byte nonce and 16-byte tag, checked before decrypting: GCM would otherwise accept a shorter
      // nonce, and Node a tag cut to as little as 4 bytes, which turns forging one into guessing 32 bits.
      if (raw.length < 12 + 16) throw new Error('truncated');
      const decipher = createDecipheriv('aes-256-gcm', this.totpKey, raw.subarray(0, 12), { authTagLength: 16 });
      decipher.setAAD(Buffer.from(`${SEAL_VERSION}|${userId}`));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch (error) {
      throw corruption(
        'The stored authenticator secret cannot be opened; set up the authenticator app again.',
        { userId },
        error,
      );
    }
  }

  private async write(userId: UserId, record: AuthRecord): Promise<void> {
    await this.docs.write(userId, this.fileName(userId), `${JSON.stringify(record, null, 2)}\n`);
  }
}

function freshRecord(): AuthRecord {
  return {
    version: 1,
    totp: null,
    passkeys: [],
    webauthnUserId: randomBytes(16).toString('base64url'),
    prfSalt: randomBytes(32).toString('base64url'),
    prfCredentialId: null,
    lockout: null,
    credentialEpoch: 0,
  };
}
