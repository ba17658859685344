import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import type { UserId } from '../core/entry.js';
import type { ChannelKind } from '../ports/channels.js';

/** How long a provider message id is remembered: Telegram retries for hours, Twilio for minutes. */
export const IDEMPOTENCY_WINDOW_MS = 48 * 60 * 60 * 1000;
/** A one-time code lives 10 minutes and allows 5 wrong guesses. */
export const CODE_TTL_MS = 10 * 60 * 1000;
export const CODE_MAX_ATTEMPTS = 5;
/** At most 3 codes per person and channel per hour (each costs the operator an SMS). */
export const CODE_SENDS_PER_HOUR = 3;
/** A link started on the web (Telegram's t.me/<bot>?start=<token>) must be finished within 15 minutes. */
export const LINK_TOKEN_TTL_MS = 15 * 60 * 1000;

export type CodeCheck = 'ok' | 'wrong' | 'expired' | 'none' | 'too_many';

/**
 * The channels' own small database (`dataDir/channels/channels.sqlite`, WAL): provider message ids already
 * handled, the index from a chat id to its person (derived from the people's CHANNELS.json, rebuildable),
 * pending one-time codes (HMAC-hashed, never stored in clear), the last message each chat stored (/undo), and links
 * started on the web: single-use tokens (SHA-256 only) and the chats waiting for their contact check.
 */
export class ChannelDb {
  readonly #dataDir: string;
  #opened: Database.Database | null = null;
  #codeKey: Buffer = Buffer.alloc(0);

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
  }

  /** Opened on first use: a CLI command that never touches a channel does not load SQLite for it. */
  get #db(): Database.Database {
    if (!this.#opened) this.#opened = this.#open();
    return this.#opened;
  }

  #open(): Database.Database {
    const dir = join(this.#dataDir, 'channels');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
    const db = new Sqlite(join(dir, 'channels.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`
      CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX IF NOT EXISTS seen_at ON seen(at);
      CREATE TABLE IF NOT EXISTS links (kind TEXT NOT NULL, address TEXT NOT NULL, user_id TEXT NOT NULL,
        PRIMARY KEY (kind, address));
      CREATE TABLE IF NOT EXISTS codes (user_id TEXT NOT NULL, kind TEXT NOT NULL, address TEXT NOT NULL,
        hash TEXT NOT NULL, expires INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, kind));
      CREATE TABLE IF NOT EXISTS code_sends (user_id TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS last_stored (user_id TEXT NOT NULL, kind TEXT NOT NULL, entry_id TEXT NOT NULL,
        at INTEGER NOT NULL, PRIMARY KEY (user_id, kind));
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS link_tokens (hash TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT NOT NULL,
        expires INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS pending_links (kind TEXT NOT NULL, address TEXT NOT NULL, user_id TEXT NOT NULL,
        expires INTEGER NOT NULL, PRIMARY KEY (kind, address));
      CREATE TABLE IF NOT EXISTS mail_addresses (user_id TEXT PRIMARY KEY, generation INTEGER NOT NULL);
    `);
    // The codes' HMAC key: random per installation, so a copied database does not let anyone test guesses offline.
    const row = db.prepare('SELECT value FROM meta WHERE name = ?').get('code_key') as { value: Buffer } | undefined;
    if (row) this.#codeKey = row.value;
    else {
      this.#codeKey = randomBytes(32);
      db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)').run('code_key', this.#codeKey);
    }
    return db;
  }

  /**
   * Claims a provider message id. 'new' the first time; 'done' when it was already handled; 'busy' when a claim
   * exists but never finished (the process died mid-message) — the caller handles it again.
   */
  claim(key: string, now: number): 'new' | 'done' | 'busy' {
    const inserted = this.#db.prepare('INSERT OR IGNORE INTO seen (key, at) VALUES (?, ?)').run(key, now);
    if (inserted.changes === 1) return 'new';
    const row = this.#db.prepare('SELECT done FROM seen WHERE key = ?').get(key) as { done: number } | undefined;
    return row?.done ? 'done' : 'busy';
  }

  finish(key: string): void {
    this.#db.prepare('UPDATE seen SET done = 1 WHERE key = ?').run(key);
  }

  /** Forgets a claim whose message failed, so the provider's retry is handled. */
  release(key: string): void {
    this.#db.prepare('DELETE FROM seen WHERE key = ? AND done = 0').run(key);
  }

  prune(now: number): number {
    this.#db.prepare('DELETE FROM link_tokens WHERE expires <= ?').run(now);
    this.#db.prepare('DELETE FROM pending_links WHERE expires <= ?').run(now);
    return this.#db.prepare('DELETE FROM seen WHERE at < ?').run(now - IDEMPOTENCY_WINDOW_MS).changes;
  }

  /**
   * Issues a token that links a chat of `kind` to the person (replacing the person's earlier one). 32 characters
   * of A–Z, a–z, 0–9, `_` and `-` (what Telegram's deep-link start parameter allows); only its SHA-256 is kept.
   */
  issueLinkToken(userId: UserId, kind: ChannelKind, now: number): { token: string; expires: number } {
    const token = randomBytes(24).toString('base64url');
    const expires = now + LINK_TOKEN_TTL_MS;
    this.#db.transaction(() => {
      this.#db
        .prepare('DELETE FROM link_tokens WHERE expires <= ? OR (user_id = ? AND kind = ?)')
        .run(now, userId, kind);
      this.#db
        .prepare('INSERT INTO link_tokens (hash, kind, user_id, expires) VALUES (?, ?, ?, ?)')
        .run(sha256(token), kind, userId, expires);
    })();
    return { token, expires };
  }

  /**
   * Uses up a link token: the person it was issued to, or null when it is unknown, used or expired. Looked up by
   * its hash: a 192-bit random token cannot be guessed through the lookup's timing.
   */
  takeLinkToken(token: string, kind: ChannelKind, now: number): UserId | null {
    const hash = sha256(token);
    const row = this.#db
      .prepare('SELECT user_id, expires FROM link_tokens WHERE hash = ? AND kind = ?')
      .get(hash, kind) as { user_id: string; expires: number } | undefined;
    if (!row) return null;
    this.#db.prepare('DELETE FROM link_tokens WHERE hash = ?').run(hash);
    return row.expires > now ? (row.user_id as UserId) : null;
  }

  /**
   * The person's secret inbound e-mail token (`<token>@<domain>`), made on first use; `rotate` replaces it, and
   * the old one stops working. 20 characters of a–z and 2–7 (100 bits): derived from the installation key, the
   * person and a generation, so it can be shown again without being stored; the index keeps only its SHA-256.
   */
  mailToken(userId: UserId, rotate = false): string {
    const row = this.#db.prepare('SELECT generation FROM mail_addresses WHERE user_id = ?').get(userId) as
      | { generation: number }
      | undefined;
    if (row && !rotate) return this.#mailToken(userId, row.generation);
    const generation = (row?.generation ?? 0) + 1;
    const token = this.#mailToken(userId, generation);
    this.#db.transaction(() => {
      if (row) this.removeLink('email', sha256(this.#mailToken(userId, row.generation)));
      this.#db
        .prepare('INSERT OR REPLACE INTO mail_addresses (user_id, generation) VALUES (?, ?)')
        .run(userId, generation);
      this.setLink('email', sha256(token), userId);
    })();
    return token;
  }

  /** The person a mail token belongs to, or null (unknown or replaced). */
  mailTokenOwner(token: string): UserId | null {
    return /^[a-z2-7]{20}$/.test(token) ? this.personOf('email', sha256(token)) : null;
  }

  #mailToken(userId: UserId, generation: number): string {
    const mac = createHmac('sha256', this.#key()).update(`mail\0${userId}\0${generation}`).digest();
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
    let bits = 0;
    let value = 0;
    let out = '';
    for (const byte of mac) {
      value = (value << 8) | byte;
      bits += 8;
      while (bits >= 5 && out.length < 20) {
        out += alphabet[(value >>> (bits - 5)) & 31];
        bits -= 5;
      }
      value &= (1 << bits) - 1;
      if (out.length === 20) break;
    }
    return out;
  }

  /** The installation key (opening the database loads or makes it). */
  #key(): Buffer {
    void this.#db;
    return this.#codeKey;
  }

  /** A chat that opened a link token and now owes the contact check, until `expires`. */
  setPendingLink(kind: ChannelKind, address: string, userId: UserId, expires: number): void {
    this.#db
      .prepare('INSERT OR REPLACE INTO pending_links (kind, address, user_id, expires) VALUES (?, ?, ?, ?)')
      .run(kind, address, userId, expires);
  }

  /** Takes (once) the person a chat's pending link is for, or null when there is none or it expired. */
  takePendingLink(kind: ChannelKind, address: string, now: number): UserId | null {
    const row = this.#db
      .prepare('SELECT user_id, expires FROM pending_links WHERE kind = ? AND address = ?')
      .get(kind, address) as { user_id: string; expires: number } | undefined;
    if (!row) return null;
    this.#db.prepare('DELETE FROM pending_links WHERE kind = ? AND address = ?').run(kind, address);
    return row.expires > now ? (row.user_id as UserId) : null;
  }

  personOf(kind: ChannelKind, address: string): UserId | null {
    const row = this.#db.prepare('SELECT user_id FROM links WHERE kind = ? AND address = ?').get(kind, address) as
      | { user_id: string }
      | undefined;
    return (row?.user_id as UserId | undefined) ?? null;
  }

  setLink(kind: ChannelKind, address: string, userId: UserId): void {
    this.#db
      .prepare('INSERT OR REPLACE INTO links (kind, address, user_id) VALUES (?, ?, ?)')
      .run(kind, address, userId);
  }

  removeLink(kind: ChannelKind, address: string): void {
    this.#db.prepare('DELETE FROM links WHERE kind = ? AND address = ?').run(kind, address);
  }

  /** Issues a 6-digit code (replacing any earlier one), or null when 3 were sent within the hour. */
  issueCode(userId: UserId, kind: ChannelKind, address: string, now: number): string | null {
    const sent = this.#db
      .prepare('SELECT COUNT(*) AS n FROM code_sends WHERE user_id = ? AND kind = ? AND at > ?')
      .get(userId, kind, now - 60 * 60 * 1000) as { n: number };
    if (sent.n >= CODE_SENDS_PER_HOUR) return null;
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM code_sends WHERE at < ?').run(now - 60 * 60 * 1000);
      this.#db.prepare('INSERT INTO code_sends (user_id, kind, at) VALUES (?, ?, ?)').run(userId, kind, now);
      this.#db
        .prepare(
          'INSERT OR REPLACE INTO codes (user_id, kind, address, hash, expires, attempts) VALUES (?, ?, ?, ?, ?, 0)',
        )
        .run(userId, kind, address, this.#hash(userId, kind, address, code), now + CODE_TTL_MS);
    })();
    return code;
  }

  /** Checks a code for the address it was sent to; a right one is used up, and so is one guessed at too often. */
  checkCode(userId: UserId, kind: ChannelKind, address: string, code: string, now: number): CodeCheck {
    const row = this.#db.prepare('SELECT * FROM codes WHERE user_id = ? AND kind = ?').get(userId, kind) as
      | { address: string; hash: string; expires: number; attempts: number }
      | undefined;
    if (!row || row.address !== address) return 'none';
    if (row.expires <= now) {
      this.#db.prepare('DELETE FROM codes WHERE user_id = ? AND kind = ?').run(userId, kind);
      return 'expired';
    }
    const expected = Buffer.from(row.hash, 'hex');
    const given = Buffer.from(this.#hash(userId, kind, address, code), 'hex');
    if (timingSafeEqual(expected, given)) {
      this.#db.prepare('DELETE FROM codes WHERE user_id = ? AND kind = ?').run(userId, kind);
      return 'ok';
    }
    if (row.attempts + 1 >= CODE_MAX_ATTEMPTS) {
      this.#db.prepare('DELETE FROM codes WHERE user_id = ? AND kind = ?').run(userId, kind);
      return 'too_many';
    }
    this.#db.prepare('UPDATE codes SET attempts = attempts + 1 WHERE user_id = ? AND kind = ?').run(userId, kind);
    return 'wrong';
  }

  hasPendingCode(userId: UserId, kind: ChannelKind, now: number): boolean {
    const row = this.#db.prepare('SELECT expires FROM codes WHERE user_id = ? AND kind = ?').get(userId, kind) as
      | { expires: number }
      | undefined;
    return row !== undefined && row.expires > now;
  }

  setLastStored(userId: UserId, kind: ChannelKind, entryId: string, now: number): void {
    this.#db
      .prepare('INSERT OR REPLACE INTO last_stored (user_id, kind, entry_id, at) VALUES (?, ?, ?, ?)')
      .run(userId, kind, entryId, now);
  }

  /** Takes the last stored entry of a chat (once), if it is at most `maxAgeMs` old. */
  takeLastStored(userId: UserId, kind: ChannelKind, now: number, maxAgeMs: number): string | null {
    const row = this.#db
      .prepare('SELECT entry_id, at FROM last_stored WHERE user_id = ? AND kind = ?')
      .get(userId, kind) as { entry_id: string; at: number } | undefined;
    if (!row) return null;
    this.#db.prepare('DELETE FROM last_stored WHERE user_id = ? AND kind = ?').run(userId, kind);
    return now - row.at <= maxAgeMs ? row.entry_id : null;
  }

  close(): void {
    this.#opened?.close();
    this.#opened = null;
  }

  #hash(userId: UserId, kind: ChannelKind, address: string, code: string): string {
    return createHmac('sha256', this.#codeKey).update(`${userId}\0${kind}\0${address}\0${code}`).digest('hex');
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A stable, non-reversible key for an address in logs (chat ids and numbers are personal data). */
export function addressTag(address: string): string {
  return createHash('sha256').update(address).digest('hex').slice(0, 10);
}
