import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { UserId } from '../core/entry.js';
import { corruption, notFound, securityError, validationError } from '../core/errors.js';
import { isUserId } from '../core/e164.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { DocumentStore } from '../ports/documents.js';
import { type DocumentsOption, documentsOf } from './file-documents.js';

import type { GrantInfo, GrantKind, OAuthClientRecord, TokenLevel } from '../ports/tokens.js';

/** The role of one secret inside a grant. */
export type SecretRole = 'access' | 'refresh';

/** One bearer secret of a grant, stored as its SHA-256 only. */
interface StoredSecret {
  readonly hash: string;
  readonly role: SecretRole;
  readonly expiresAt: string | null;
  /** The level-2 private key, AES-256-GCM under a key derived from the secret itself (null: level 1 only). */
  readonly wrapped: string | null;
  /** A refresh token is spent once; presenting it again is reuse and ends the whole grant. */
  usedAt: string | null;
}

/** A grant as stored: what the person sees in the token list, and the secrets that act for it. */
interface StoredGrant {
  readonly id: string;
  readonly userId: UserId;
  readonly kind: GrantKind;
  readonly name: string;
  readonly clientId: string | null;
  readonly levels: TokenLevel[];
  readonly createdAt: string;
  /** When the grant itself ends (a personal token's --expires; an OAuth refresh family's lifetime). */
  readonly expiresAt: string | null;
  /** The keyring generation the level-2 key came from: a key rotation makes the wrapped key useless. */
  readonly generation: number;
  lastUsedAt: string | null;
  secrets: StoredSecret[];
}

interface TokenFile {
  readonly version: 1;
  grants: StoredGrant[];
  clients: OAuthClientRecord[];
}

/** A resolved bearer secret: who it acts for and, for level 2, the unwrapped private key (the caller zeroes it). */
export interface ResolvedSecret {
  readonly grant: GrantInfo;
  readonly userId: UserId;
  readonly role: SecretRole;
  readonly generation: number;
  readonly level2Key: Uint8Array | null;
}

/** A new secret to add to a grant: its clear text (to derive the wrapping key) and role. */
export interface NewSecret {
  readonly token: string;
  readonly role: SecretRole;
  readonly expiresAt: Date | null;
}

/** Bearer secrets: a prefix that says what they are, then 256 random bits (base64url). */
export const TOKEN_PREFIX: Readonly<Record<'personal' | 'access' | 'refresh', string>> = {
  personal: 'mvp_',
  access: 'mva_',
  refresh: 'mvr_',
};
const SECRET_SHAPE = /^mv[par]_[A-Za-z0-9_-]{43}$/;
const FILE_NAME = 'tokens.json';
const MAX_GRANTS_PER_USER = 200;
const MAX_CLIENTS = 1000;
/** Spent refresh tokens kept per grant for reuse detection (older ones expire with the grant anyway). */
const MAX_SECRETS_PER_GRANT = 50;
/** lastUsedAt is written at most this often, so a busy token does not rewrite the file on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** A new bearer secret of the given kind. */
export function newSecret(kind: keyof typeof TOKEN_PREFIX): string {
  return `${TOKEN_PREFIX[kind]}${randomBytes(32).toString('base64url')}`;
}

/** True when `value` looks like one of our bearer secrets (not a session token). */
export function isGrantSecret(value: string): boolean {
  return SECRET_SHAPE.test(value);
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

function wrapKey(secret: string, grantId: string, userId: UserId, key: Uint8Array): string {
  const kek = Buffer.from(hkdfSync('sha256', Buffer.from(secret), Buffer.from(grantId), 'memvault/token-key/v1', 32));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(Buffer.from(`${userId}\0${grantId}\0level-2`));
  const body = Buffer.concat([cipher.update(key), cipher.final()]);
  kek.fill(0);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

function unwrapKey(secret: string, grantId: string, userId: UserId, wrapped: string): Uint8Array {
  const raw = Buffer.from(wrapped, 'base64url');
  const kek = Buffer.from(hkdfSync('sha256', Buffer.from(secret), Buffer.from(grantId), 'memvault/token-key/v1', 32));
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(`${userId}\0${grantId}\0level-2`));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    return new Uint8Array(Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]));
  } catch (cause) {
    throw corruption('A token’s level-2 key does not open: the token store was edited.', { id: grantId }, cause);
  } finally {
    kek.fill(0);
  }
}

function info(grant: StoredGrant): GrantInfo {
  return {
    id: grant.id,
    kind: grant.kind,
    name: grant.name,
    clientId: grant.clientId,
    levels: [...grant.levels],
    createdAt: grant.createdAt,
    expiresAt: grant.expiresAt,
    lastUsedAt: grant.lastUsedAt,
  };
}

/** `documents`: where the token store lives (PostgreSQL mode); default `tokens.json` in the data dir. */
export interface AccessTokenStoreOptions extends DocumentsOption {
  readonly masterKey: Uint8Array;
  readonly clock?: Clock;
}

/**
 * Personal access tokens, OAuth grants and OAuth clients in one file, `dataDir/tokens.json` (mode 0600), sealed
 * as a whole with AES-256-GCM under a key derived from the master key: the phone numbers and client names in it
 * are nobody else's business. Each bearer secret is stored as its SHA-256 only; a level-2 grant also stores
 * the level-2 private key wrapped under a key derived from that secret, so the file alone opens nothing.
 * Writes are atomic and hold a lock file (the CLI may create a token while the server runs); reads notice a
 * file another process changed. In PostgreSQL mode the same sealed text is one row of `mv_documents`, locked and
 * versioned there, so every server sees a token made or revoked on another.
 */
export class AccessTokenStore {
  private readonly docs: DocumentStore;
  private readonly fileKey: Buffer;
  private readonly clock: Clock;
  private cache: { version: string; file: TokenFile } | null = null;

  constructor(options: AccessTokenStoreOptions) {
    this.docs = documentsOf(options);
    this.fileKey = Buffer.from(
      hkdfSync('sha256', options.masterKey, Buffer.from('memvault/tokens'), Buffer.from('token-file/v1'), 32),
    );
    this.clock = options.clock ?? systemClock;
  }

  private now(): Date {
    return this.clock.now();
  }

  /** Creates a grant with its first secrets; returns what a listing shows. */
  async createGrant(input: {
    readonly userId: UserId;
    readonly kind: GrantKind;
    readonly name: string;
    readonly clientId?: string;
    readonly levels: readonly TokenLevel[];
    readonly expiresAt: Date | null;
    readonly generation: number;
    readonly level2Key: Uint8Array | null;
    readonly secrets: readonly NewSecret[];
  }): Promise<GrantInfo> {
    if (!isUserId(input.userId)) throw validationError('Not a normalised phone number (E.164).', { field: 'user' });
    const levels = [...new Set(input.levels)].sort();
    if (levels.includes(2) !== (input.level2Key !== null)) {
      throw validationError('A level-2 token needs the level-2 key, and only a level-2 token may carry it.');
    }
    const id = `tok_${randomBytes(9).toString('base64url')}`;
    const grant: StoredGrant = {
      id,
      userId: input.userId,
      kind: input.kind,
      name: input.name,
      clientId: input.clientId ?? null,
      levels,
      createdAt: this.now().toISOString(),
      expiresAt: input.expiresAt?.toISOString() ?? null,
      generation: input.generation,
      lastUsedAt: null,
      secrets: input.secrets.map((s) => this.storedSecret(s, id, input.userId, input.level2Key)),
    };
    await this.update((file) => {
      this.prune(file);
      if (file.grants.filter((g) => g.userId === input.userId).length >= MAX_GRANTS_PER_USER) {
        throw validationError(
          `You have ${MAX_GRANTS_PER_USER} tokens already; revoke some you no longer use (memvault token list).`,
        );
      }
      file.grants.push(grant);
    });
    return info(grant);
  }

  private storedSecret(secret: NewSecret, grantId: string, userId: UserId, key: Uint8Array | null): StoredSecret {
    return {
      hash: sha256(secret.token).toString('hex'),
      role: secret.role,
      expiresAt: secret.expiresAt?.toISOString() ?? null,
      wrapped: key ? wrapKey(secret.token, grantId, userId, key) : null,
      usedAt: null,
    };
  }

  /**
   * Finds the grant of a bearer secret. A level-2 grant's key is unwrapped with the secret; the caller owns the
   * returned buffer and zeroes it.
   * @throws SECURITY_ERROR authentication_failed for an unknown, malformed, revoked or spent secret;
   *   session_expired when it or its grant expired.
   */
  async resolve(token: string, role: SecretRole): Promise<ResolvedSecret> {
    const unknown = () => securityError('authentication_failed', 'Unknown or revoked token.');
    if (typeof token !== 'string' || !isGrantSecret(token)) throw unknown();
    const hash = sha256(token);
    const file = await this.read();
    const now = this.now().getTime();
    const found = this.find(file, hash);
    if (!found || found.secret.role !== role) throw unknown();
    const { grant, secret } = found;
    if (expired(grant.expiresAt, now) || expired(secret.expiresAt, now)) {
      throw securityError('session_expired', 'The token has expired; create a new one (or sign in again).');
    }
    if (secret.usedAt !== null) throw unknown();
    const level2Key = secret.wrapped ? unwrapKey(token, grant.id, grant.userId, secret.wrapped) : null;
    if (grant.lastUsedAt === null || now - Date.parse(grant.lastUsedAt) > LAST_USED_RESOLUTION_MS) {
      // Best effort: a token that works must not fail because its "last used" could not be written.
      await this.touch(grant.id).catch(() => undefined);
    }
    return { grant: info(grant), userId: grant.userId, role, generation: grant.generation, level2Key };
  }

  private find(file: TokenFile, hash: Buffer): { grant: StoredGrant; secret: StoredSecret } | null {
    const hex = hash.toString('hex');
    for (const grant of file.grants) {
      for (const secret of grant.secrets) {
        if (secret.hash.length === hex.length && timingSafeEqual(Buffer.from(secret.hash), Buffer.from(hex))) {
          return { grant, secret };
        }
      }
    }
    return null;
  }

  private async touch(grantId: string): Promise<void> {
    const at = this.now().toISOString();
    await this.update((file) => {
      const grant = file.grants.find((g) => g.id === grantId);
      if (grant) grant.lastUsedAt = at;
    });
  }

  /**
   * Spends a refresh token and adds the grant's next secrets (rotation), in one write. Presenting a refresh token
   * that was already spent is reuse: someone else holds a copy, so the whole grant is revoked.
   * @throws SECURITY_ERROR authentication_failed for unknown, spent (grant revoked) or expired refresh tokens.
   */
  async rotate(
    refreshToken: string,
    clientId: string,
    next: readonly NewSecret[],
  ): Promise<{ grant: GrantInfo; reused: boolean }> {
    const refused = () => securityError('authentication_failed', 'The refresh token is invalid, expired or revoked.');
    if (!isGrantSecret(refreshToken)) throw refused();
    const hash = sha256(refreshToken);
    const now = this.now();
    let result: { grant: GrantInfo; reused: boolean } | null = null;
    let level2Key: Uint8Array | null = null;
    try {
      await this.update((file) => {
        const found = this.find(file, hash);
        if (found?.secret.role !== 'refresh' || found.grant.clientId !== clientId) return;
        const { grant, secret } = found;
        if (secret.usedAt !== null) {
          file.grants = file.grants.filter((g) => g !== grant);
          result = { grant: info(grant), reused: true };
          return;
        }
        if (expired(grant.expiresAt, now.getTime()) || expired(secret.expiresAt, now.getTime())) return;
        level2Key = secret.wrapped ? unwrapKey(refreshToken, grant.id, grant.userId, secret.wrapped) : null;
        secret.usedAt = now.toISOString();
        for (const s of next) grant.secrets.push(this.storedSecret(s, grant.id, grant.userId, level2Key));
        // Expired secrets go; spent refresh tokens stay (reuse detection) up to a bound.
        grant.secrets = grant.secrets.filter((s) => !expired(s.expiresAt, now.getTime()));
        if (grant.secrets.length > MAX_SECRETS_PER_GRANT) {
          grant.secrets = grant.secrets.slice(grant.secrets.length - MAX_SECRETS_PER_GRANT);
        }
        result = { grant: info(grant), reused: false };
      });
    } finally {
      (level2Key as Uint8Array | null)?.fill(0);
    }
    if (!result) throw refused();
    return result;
  }

  /** The person's grants, newest first (expired ones are left out). */
  async list(userId: UserId): Promise<GrantInfo[]> {
    const now = this.now().getTime();
    const file = await this.read();
    return file.grants
      .filter((g) => g.userId === userId && !expired(g.expiresAt, now))
      .map(info)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /**
   * Revokes one grant of the person (every secret of it stops working at once, in every process).
   * @throws NOT_FOUND when the person has no such grant.
   */
  async revoke(userId: UserId, grantId: string): Promise<GrantInfo> {
    let removed: StoredGrant | undefined;
    await this.update((file) => {
      removed = file.grants.find((g) => g.id === grantId && g.userId === userId);
      if (removed) file.grants = file.grants.filter((g) => g !== removed);
    });
    if (!removed) throw notFound(`No token ${grantId} of yours; see the token list for the ids.`, { id: grantId });
    return info(removed);
  }

  /** Revokes the grant a secret belongs to (RFC 7009: unknown secrets are not an error). Returns whether one went. */
  async revokeBySecret(token: string, clientId?: string): Promise<boolean> {
    if (!isGrantSecret(token)) return false;
    const hash = sha256(token);
    let done = false;
    await this.update((file) => {
      const found = this.find(file, hash);
      if (!found || (clientId !== undefined && found.grant.clientId !== clientId)) return;
      file.grants = file.grants.filter((g) => g !== found.grant);
      done = true;
    });
    return done;
  }

  /** Registers an OAuth client. @throws VALIDATION_ERROR when the server holds too many already. */
  async addClient(client: Omit<OAuthClientRecord, 'clientId' | 'createdAt'>): Promise<OAuthClientRecord> {
    const record: OAuthClientRecord = {
      ...client,
      clientId: `mvc_${randomBytes(16).toString('base64url')}`,
      createdAt: this.now().toISOString(),
    };
    await this.update((file) => {
      if (file.clients.length >= MAX_CLIENTS) {
        // Registration is open to anyone who reaches the server: drop clients nobody ever got a grant for.
        const used = new Set(file.grants.map((g) => g.clientId));
        file.clients = file.clients.filter((c) => used.has(c.clientId));
      }
      if (file.clients.length >= MAX_CLIENTS) {
        throw validationError('Too many OAuth clients are registered on this server.');
      }
      file.clients.push(record);
    });
    return record;
  }

  async client(clientId: string): Promise<OAuthClientRecord | null> {
    if (typeof clientId !== 'string' || clientId.length > 100) return null;
    return (await this.read()).clients.find((c) => c.clientId === clientId) ?? null;
  }

  /** Drops expired grants (called on writes, so the file does not grow without end). */
  private prune(file: TokenFile): void {
    const now = this.now().getTime();
    file.grants = file.grants.filter((g) => !expired(g.expiresAt, now));
  }

  private async read(): Promise<TokenFile> {
    const version = await this.docs.version(null, FILE_NAME);
    if (version === undefined) return { version: 1, grants: [], clients: [] };
    if (this.cache?.version === version) return this.cache.file;
    const stored = await this.docs.read(null, FILE_NAME);
    if (stored === undefined) return { version: 1, grants: [], clients: [] };
    const file = this.open(stored.text);
    this.cache = { version: stored.version, file };
    return file;
  }

  private open(text: string): TokenFile {
    try {
      const outer = JSON.parse(text) as { v?: unknown; iv?: unknown; ct?: unknown; tag?: unknown };
      if (
        outer.v !== 1 ||
        typeof outer.iv !== 'string' ||
        typeof outer.ct !== 'string' ||
        typeof outer.tag !== 'string'
      )
        throw new Error('shape');
      const decipher = createDecipheriv('aes-256-gcm', this.fileKey, Buffer.from(outer.iv, 'base64url'));
      decipher.setAAD(Buffer.from('memvault/tokens.json'));
      decipher.setAuthTag(Buffer.from(outer.tag, 'base64url'));
      const plain = Buffer.concat([decipher.update(Buffer.from(outer.ct, 'base64url')), decipher.final()]);
      const file = JSON.parse(plain.toString('utf8')) as TokenFile;
      if (file.version !== 1 || !Array.isArray(file.grants) || !Array.isArray(file.clients)) throw new Error('shape');
      return file;
    } catch (cause) {
      throw corruption(
        'The token store (tokens.json in the data directory) is damaged or sealed with another master key. ' +
          'Restore it from a backup, or delete it to revoke every token and OAuth client.',
        {},
        cause,
      );
    }
  }

  private seal(file: TokenFile): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.fileKey, iv);
    cipher.setAAD(Buffer.from('memvault/tokens.json'));
    const ct = Buffer.concat([cipher.update(JSON.stringify(file), 'utf8'), cipher.final()]);
    return JSON.stringify({
      v: 1,
      iv: iv.toString('base64url'),
      ct: ct.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'),
    });
  }

  /** Read-modify-write holding the store's document (lock file, or advisory lock); the read happens inside. */
  private async update(change: (file: TokenFile) => void): Promise<void> {
    await this.docs.exclusive(null, FILE_NAME, async () => {
      this.cache = null;
      const file = structuredClone(await this.read());
      change(file);
      await this.docs.write(null, FILE_NAME, this.seal(file));
      this.cache = null;
    });
  }
}

function expired(at: string | null, now: number): boolean {
  return at !== null && Date.parse(at) <= now;
}
