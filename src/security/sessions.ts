import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { isSecurityLevel, LEVELS, type SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { isMemvaultError, securityError, storageError, validationError } from '../core/errors.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { EntryOpener, SealContext } from '../ports/sealer.js';
import type { SessionRecord, SessionStorePort } from '../ports/session-store.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** How long things live, in milliseconds (DESIGN §5). */
export interface SessionLimits {
  /** A level locks after this long without use. Level 1's idle limit is the session's. */
  readonly idle: Readonly<Record<SecurityLevel, number>>;
  /** A level locks this long after it was unlocked, used or not. Level 1's is the session's lifetime. */
  readonly absolute: Readonly<Record<SecurityLevel, number>>;
  /** Sessions one user may hold at once; the least recently used is signed out beyond that. */
  readonly maxPerUser: number;
  /** How long an expired session's token is still recognised as "expired" rather than "unknown". */
  readonly tombstone: number;
  /** How long a WebAuthn challenge stays valid. */
  readonly challenge: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  idle: { 1: 24 * HOUR, 2: 30 * MINUTE, 3: 15 * MINUTE, 4: 5 * MINUTE },
  absolute: { 1: 7 * 24 * HOUR, 2: 12 * HOUR, 3: HOUR, 4: 15 * MINUTE },
  maxPerUser: 20,
  tombstone: 7 * 24 * HOUR,
  challenge: 5 * MINUTE,
};

/** A WebAuthn challenge issued to this session, valid once. */
export interface PendingChallenge {
  readonly value: string;
  readonly purpose: 'register' | 'authenticate';
  readonly expiresAt: number;
}

/** Builds the crypto opener for one level's key (the keyring's `createOpener`, injected for tests). */
export type OpenerFactory = (
  userId: UserId,
  keys: ReadonlyMap<SecurityLevel, Uint8Array>,
) => EntryOpener & { dispose(): void };

/** A level's unlocked private key as one request holds it. */
interface HeldLevel {
  readonly key: Uint8Array;
  readonly unlockedAt: number;
  lastUsed: number;
  opener?: EntryOpener & { dispose(): void };
}

/** What the sealed part of a stored session holds (besides the keys, which follow it as raw bytes). */
interface SealedHeader {
  readonly epoch: number;
  readonly pendingTotp?: string;
  readonly challenge?: PendingChallenge;
  /** Levels that idled out or hit their limit (as opposed to never unlocked or locked by hand). */
  readonly expired: number[];
  readonly levels: Array<{ readonly level: number; readonly unlockedAt: number; readonly bytes: number }>;
}

const FORMAT = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HKDF_SALT = Buffer.from('memvault/session-state/v1', 'utf8');
const sha256 = (token: string) => createHash('sha256').update(token, 'utf8').digest();
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** How often a request re-reads and retries after another process changed the same session at once. */
const MAX_RETRIES = 8;

/**
 * One session as a request sees it: read from the store, opened with the request's token, and released
 * (keys zeroed, openers disposed, level use written back) when the request ends. Only the manager mutates it.
 */
export class Session {
  readonly id: string;
  readonly userId: UserId;
  readonly createdAt: number;
  readonly tokenHash: Buffer;
  /** The person's credential epoch when the session was made; it lives only while that is still current. */
  epoch: number;
  lastSeen: number;
  /** Transient TOTP secret between `totpBegin` and `totpConfirm`. */
  pendingTotp: string | undefined;
  challenge: PendingChallenge | undefined;
  version: number;
  readonly levels = new Map<SecurityLevel, HeldLevel>();
  readonly expired = new Set<SecurityLevel>();
  /** Levels this request read with; their last use is written back on release. */
  readonly used = new Set<SecurityLevel>();
  released = false;
  /** Opens exactly the levels held now; a level that expires between calls stops opening at once. */
  readonly opener: EntryOpener;
  /** @internal the request's token, needed to re-seal the state after a change. */
  readonly token: string;

  constructor(
    init: { id: string; userId: UserId; createdAt: number; tokenHash: Buffer; token: string; version: number },
    hooks: {
      readonly now: () => number;
      readonly due: (level: SecurityLevel, held: HeldLevel) => boolean;
      readonly expired: (session: Session, level: SecurityLevel) => void;
    },
    makeOpener: OpenerFactory,
  ) {
    this.id = init.id;
    this.userId = init.userId;
    this.createdAt = init.createdAt;
    this.tokenHash = init.tokenHash;
    this.token = init.token;
    this.version = init.version;
    this.epoch = 0;
    this.lastSeen = init.createdAt;
    this.pendingTotp = undefined;
    this.challenge = undefined;
    const live = (level: SecurityLevel): HeldLevel | undefined => {
      const held = this.levels.get(level);
      if (!held || this.released) return undefined;
      if (hooks.due(level, held)) {
        // Past its limit mid-request: stop opening now; the store drops it on the next resolve.
        this.levels.delete(level);
        this.expired.add(level);
        held.opener?.dispose();
        held.key.fill(0);
        hooks.expired(this, level);
        return undefined;
      }
      return held;
    };
    this.opener = {
      canOpen: (level) => live(level) !== undefined,
      open: (ctx: SealContext, payload: string) => {
        const held = live(ctx.level);
        if (!held) {
          throw this.expired.has(ctx.level)
            ? securityError(
                'session_expired',
                `Level ${ctx.level} locked itself after its time limit; unlock it again.`,
                { level: ctx.level },
              )
            : securityError('insufficient_permissions', `Level ${ctx.level} is locked: unlock it to read this entry.`, {
                level: ctx.level,
              });
        }
        held.lastUsed = hooks.now();
        this.used.add(ctx.level);
        held.opener ??= makeOpener(this.userId, new Map([[ctx.level, held.key]]));
        return held.opener.open(ctx, payload);
      },
    };
  }

  get unlocked(): SecurityLevel[] {
    return LEVELS.filter((level) => this.levels.has(level));
  }

  /** Zeroes every key this request holds and disposes its openers. */
  zero(): void {
    for (const held of this.levels.values()) {
      try {
        held.opener?.dispose();
      } finally {
        held.key.fill(0);
      }
    }
    this.levels.clear();
  }
}

export interface SessionManagerOptions {
  readonly store: SessionStorePort;
  readonly clock?: Clock;
  readonly limits?: Partial<SessionLimits>;
  readonly createOpener: OpenerFactory;
  /** Called with the levels a user no longer holds in any session (lock, expiry, sign-out). */
  readonly onLock?: (userId: UserId, levels: SecurityLevel[]) => void;
  /** Called once when a session expires (for the audit log), by whichever process noticed first. */
  readonly onExpire?: (session: { id: string; userId: UserId }) => void;
}

/**
 * Server-side sessions in a shared store (DESIGN §5, §10). A token is 256 random bits (base64url), handed out
 * once; the store keeps only its SHA-256 as the key, and the session's secret state (unlocked levels' private
 * keys, pending TOTP secret, WebAuthn challenge) sealed with AES-256-GCM under HKDF-SHA256(token). A copy of the
 * store opens nothing; any process holding the token can open its session, so a restart or another worker
 * signs no one out. Timings (last use per level, unlock times) are kept in the clear beside it, so expiry is
 * judged without the token.
 *
 * A request's keys live in a `Session` only until `release`; each change is written with optimistic
 * concurrency (re-read and re-applied when another request changed the same session meanwhile).
 */
export class SessionManager {
  readonly limits: SessionLimits;
  readonly store: SessionStorePort;
  private readonly clock: Clock;
  private readonly createOpener: OpenerFactory;
  private readonly onLock: ((userId: UserId, levels: SecurityLevel[]) => void) | undefined;
  private readonly onExpire: ((session: { id: string; userId: UserId }) => void) | undefined;
  /** People whose levels this process opened since the last sweep: the sweep tells the index what they lost. */
  private readonly active = new Map<UserId, Set<SecurityLevel>>();
  /**
   * Sessions requests in this process hold now (not yet released), by token hash: a sign-out or lock here
   * zeroes their keys at once, not only at their next request. Other processes' requests end on their own.
   */
  private readonly holding = new Map<string, Set<Session>>();
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(options: SessionManagerOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.createOpener = options.createOpener;
    this.onLock = options.onLock;
    this.onExpire = options.onExpire;
    const limits = options.limits ?? {};
    this.limits = {
      ...DEFAULT_SESSION_LIMITS,
      ...limits,
      idle: { ...DEFAULT_SESSION_LIMITS.idle, ...limits.idle },
      absolute: { ...DEFAULT_SESSION_LIMITS.absolute, ...limits.absolute },
    };
  }

  private now(): number {
    return this.clock.now().getTime();
  }

  /**
   * Opens a session holding the given keys (level 1 at least) and takes ownership of the key buffers (zeroed
   * here). Returns the bearer token — the only time it exists in the clear on the server — and the session,
   * which the caller releases. `epoch` is the person's credential epoch read before the credentials were checked.
   */
  async create(
    userId: UserId,
    keys: ReadonlyMap<SecurityLevel, Uint8Array>,
    epoch = 0,
  ): Promise<{ token: string; session: Session }> {
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    const session = this.blank(token, {
      id: randomBytes(12).toString('base64url'),
      userId,
      createdAt: now,
      version: 1,
    });
    session.epoch = epoch;
    session.lastSeen = now;
    for (const [level, key] of keys) {
      session.levels.set(level, { key: Uint8Array.from(key), unlockedAt: now, lastUsed: now });
      key.fill(0);
    }
    try {
      await this.store.create({
        tokenHash: session.tokenHash,
        id: session.id,
        userId,
        createdAt: now,
        expiresAt: now + this.limits.absolute[1] + this.limits.tombstone,
        seen: this.seenOf(session),
        sealed: this.seal(session),
      });
    } catch (error) {
      session.zero();
      throw error;
    }
    this.noteActive(session);
    this.hold(session);
    await this.enforceMaxPerUser(userId);
    return { token, session };
  }

  /**
   * Finds the live session of a token, marks it used and drops its levels that are due.
   * @throws SECURITY_ERROR authentication_failed for an unknown, malformed or signed-out token;
   *   session_expired when it idled out or outlived its limit.
   */
  async resolve(token: string): Promise<Session> {
    const unknown = () => securityError('authentication_failed', 'Not signed in, or the session was signed out.');
    if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) throw unknown();
    const hash = sha256(token);
    const record = await this.store.get(hash);
    if (!record) throw unknown();
    if (record.sealed.length === 0) throw securityError('session_expired', 'The session has expired; sign in again.');
    const now = this.now();
    if (this.recordExpired(record, now)) {
      await this.tombstone(record);
      throw securityError('session_expired', 'The session has expired; sign in again.');
    }
    const session = this.open(token, record);
    try {
      const due = [...session.levels].filter(([level, held]) => level !== 1 && this.due(level, held, now));
      if (due.length > 0) {
        const levels = due.map(([level]) => level);
        await this.mutate(session, (s) => {
          this.dropFrom(s, levels);
          for (const level of levels) s.expired.add(level);
        });
        await this.announceLocked(session, levels);
      }
      session.lastSeen = now;
      const l1 = session.levels.get(1);
      if (l1) l1.lastUsed = now;
      if (!(await this.store.touch(hash, { '1': now }))) throw unknown();
    } catch (error) {
      session.zero();
      throw error;
    }
    this.noteActive(session);
    this.hold(session);
    return session;
  }

  /** Ends the request's hold on the session: writes back which levels it read with, zeroes its keys. */
  async release(session: Session): Promise<void> {
    this.unhold(session);
    if (session.released) return;
    session.released = true;
    const seen: Record<string, number> = {};
    for (const level of session.used) {
      const held = session.levels.get(level);
      if (held) seen[String(level)] = held.lastUsed;
    }
    session.zero();
    session.pendingTotp = undefined;
    if (Object.keys(seen).length > 0) await this.store.touch(session.tokenHash, seen);
  }

  /**
   * Adds (or refreshes) an unlocked level's key. The session takes ownership of the buffer (zeroed here), also
   * when it refuses it: an unlock that finishes after the session ended must not leave a key behind.
   * @throws SECURITY_ERROR authentication_failed when the session is no longer live.
   */
  async unlock(session: Session, level: SecurityLevel, key: Uint8Array): Promise<void> {
    const copy = Uint8Array.from(key);
    key.fill(0);
    try {
      const now = this.now();
      await this.mutate(session, (s) => {
        const previous = s.levels.get(level);
        previous?.opener?.dispose();
        previous?.key.fill(0);
        s.levels.set(level, { key: Uint8Array.from(copy), unlockedAt: now, lastUsed: now });
        s.expired.delete(level);
      });
      this.noteActive(session);
    } finally {
      copy.fill(0);
    }
  }

  /** Drops the given levels (default: every level above 1) and zeroes their keys, in every process. */
  async lock(session: Session, levels: readonly SecurityLevel[] = [2, 3, 4]): Promise<void> {
    if (levels.includes(1)) {
      throw validationError('Level 1 stays unlocked while you are signed in; sign out instead.', { field: 'level' });
    }
    const held = levels.filter((level) => session.levels.has(level));
    await this.mutate(session, (s) => {
      this.dropFrom(s, levels);
      for (const level of levels) s.expired.delete(level);
    });
    for (const other of this.holding.get(session.tokenHash.toString('hex')) ?? []) this.dropFrom(other, levels);
    await this.announceLocked(session, held);
  }

  /** Ends a session: its record is removed (the token becomes unknown) and this request's keys are zeroed. */
  async end(session: Session): Promise<void> {
    const levels = session.unlocked;
    for (const other of [session, ...(this.holding.get(session.tokenHash.toString('hex')) ?? [])]) {
      other.zero();
      other.released = true;
    }
    this.holding.delete(session.tokenHash.toString('hex'));
    await this.store.delete(session.tokenHash);
    await this.announceLocked(session, levels.length > 0 ? levels : [...LEVELS]);
  }

  /** Ends every session of a user in every process (after a password change or key rotation). */
  async endAll(userId: UserId): Promise<void> {
    await this.store.deleteByUser(userId);
    this.active.delete(userId);
    for (const [hash, sessions] of this.holding) {
      for (const session of sessions) {
        if (session.userId !== userId) continue;
        session.zero();
        session.released = true;
        sessions.delete(session);
      }
      if (sessions.size === 0) this.holding.delete(hash);
    }
    this.onLock?.(userId, [...LEVELS]);
  }

  /** When each held level expires (the earlier of its idle and absolute limits). */
  expiries(session: Session): Partial<Record<SecurityLevel, number>> {
    const out: Partial<Record<SecurityLevel, number>> = {};
    for (const [level, held] of session.levels) {
      out[level] =
        level === 1
          ? Math.min(session.lastSeen + this.limits.idle[1], session.createdAt + this.limits.absolute[1])
          : Math.min(held.lastUsed + this.limits.idle[level], held.unlockedAt + this.limits.absolute[level]);
    }
    return out;
  }

  /** Issues a fresh WebAuthn challenge for this session, replacing any earlier one. */
  async issueChallenge(session: Session, purpose: PendingChallenge['purpose']): Promise<string> {
    const value = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + this.limits.challenge;
    await this.mutate(session, (s) => {
      s.challenge = { value, purpose, expiresAt };
    });
    return value;
  }

  /** Takes the session's challenge for `purpose` (single use, in every process); undefined when none is valid. */
  async takeChallenge(session: Session, purpose: PendingChallenge['purpose']): Promise<string | undefined> {
    let pending: PendingChallenge | undefined;
    await this.mutate(session, (s) => {
      pending = s.challenge;
      s.challenge = undefined;
    });
    if (!pending || pending.purpose !== purpose || pending.expiresAt < this.now()) return undefined;
    return pending.value;
  }

  /** Keeps (or clears) the TOTP secret between `totpBegin` and `totpConfirm`, sealed like the keys. */
  async setPendingTotp(session: Session, secret: string | undefined): Promise<void> {
    await this.mutate(session, (s) => {
      s.pendingTotp = secret;
    });
  }

  /**
   * Housekeeping, on a timer in each process: forgets records past their tombstone, ends the expired sessions
   * of people this process served (their sealed keys are dropped from the store), and tells the search index
   * which levels those people no longer hold in any session — also when another process locked them.
   */
  async sweep(): Promise<void> {
    const now = this.now();
    await this.store.purge(now);
    const people = [...this.active];
    this.active.clear();
    for (const [userId, levels] of people) {
      const records = await this.store.listByUser(userId);
      const still = new Set<SecurityLevel>();
      for (const record of records) {
        if (record.sealed.length === 0) continue;
        if (this.recordExpired(record, now)) {
          await this.tombstone(record);
          continue;
        }
        for (const level of this.heldLevels(record, now)) still.add(level);
      }
      const gone = [...levels].filter((level) => !still.has(level));
      if (gone.length > 0) this.onLock?.(userId, gone);
      const keep = [...levels].filter((level) => still.has(level));
      if (keep.length > 0) {
        const mine = this.active.get(userId) ?? new Set();
        for (const level of keep) mine.add(level);
        this.active.set(userId, mine);
      }
    }
  }

  /** Starts a background sweep every `intervalMs` (unref'd, so it never keeps the process alive). */
  startSweeper(intervalMs = 30_000, onError?: (error: unknown) => void): void {
    this.stopSweeper();
    this.sweeper = setInterval(() => {
      this.sweep().catch((error: unknown) => onError?.(error));
    }, intervalMs);
    this.sweeper.unref();
  }

  stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** Stops the sweeper. Sessions stay in the store: a restart signs no one out. */
  close(): void {
    this.stopSweeper();
  }

  /** Number of stored sessions (metrics, tests). */
  count(): Promise<number> {
    return this.store.count();
  }

  // ---- internals ----

  private blank(
    token: string,
    init: { id: string; userId: UserId; createdAt: number; version: number; hash?: Buffer },
  ): Session {
    return new Session(
      { ...init, tokenHash: init.hash ?? sha256(token), token },
      {
        now: () => this.now(),
        due: (level, held) => this.due(level, held, this.now()),
        // The index may hold this level's data for another session too; it reloads it when that one reads.
        expired: (session, level) => this.onLock?.(session.userId, [level]),
      },
      this.createOpener,
    );
  }

  private due(level: SecurityLevel, held: HeldLevel, now: number): boolean {
    if (level === 1) return false;
    return now - held.lastUsed > this.limits.idle[level] || now - held.unlockedAt > this.limits.absolute[level];
  }

  private recordExpired(record: SessionRecord, now: number): boolean {
    const lastSeen = record.seen['1'] ?? record.createdAt;
    return now - lastSeen > this.limits.idle[1] || now - record.createdAt > this.limits.absolute[1];
  }

  /** The levels a stored session still holds now, from its clear timings alone. */
  private heldLevels(record: SessionRecord, now: number): SecurityLevel[] {
    const out: SecurityLevel[] = [1];
    for (const level of [2, 3, 4] as const) {
      const unlockedAt = record.seen[`u${level}`];
      if (unlockedAt === undefined) continue;
      const lastUsed = Math.max(record.seen[String(level)] ?? unlockedAt, unlockedAt);
      if (!this.due(level, { key: new Uint8Array(0), unlockedAt, lastUsed }, now)) out.push(level);
    }
    return out;
  }

  private seenOf(session: Session): Record<string, number> {
    const seen: Record<string, number> = { '1': session.lastSeen };
    for (const [level, held] of session.levels) {
      if (level === 1) continue;
      seen[String(level)] = held.lastUsed;
      seen[`u${level}`] = held.unlockedAt;
    }
    return seen;
  }

  private dropFrom(session: Session, levels: readonly SecurityLevel[]): void {
    for (const level of levels) {
      const held = session.levels.get(level);
      if (!held) continue;
      session.levels.delete(level);
      try {
        held.opener?.dispose();
      } finally {
        held.key.fill(0);
      }
    }
  }

  /** Ends an expired session in the store, keeping its record as a tombstone; reports it once. */
  private async tombstone(record: SessionRecord): Promise<void> {
    const replaced = await this.store.replace(record.tokenHash, record.version, {
      sealed: Buffer.alloc(0),
      seen: {},
      expiresAt: this.now() + this.limits.tombstone,
    });
    if (replaced === undefined) return; // another process got there first (or it changed; the next look decides)
    this.onExpire?.({ id: record.id, userId: record.userId as UserId });
    await this.announceLocked({ userId: record.userId as UserId, tokenHash: record.tokenHash }, [...LEVELS]);
  }

  /** Tells the index which of `levels` no other live session of the person still holds. */
  private async announceLocked(
    session: { readonly userId: UserId; readonly tokenHash: Buffer },
    levels: readonly SecurityLevel[],
  ): Promise<void> {
    if (levels.length === 0 || !this.onLock) return;
    const now = this.now();
    const others = (await this.store.listByUser(session.userId)).filter(
      (r) => !r.tokenHash.equals(session.tokenHash) && r.sealed.length > 0 && !this.recordExpired(r, now),
    );
    const held = new Set(others.flatMap((r) => this.heldLevels(r, now)));
    const gone = levels.filter((level) => !held.has(level));
    if (gone.length > 0) this.onLock(session.userId, gone);
  }

  private async enforceMaxPerUser(userId: UserId): Promise<void> {
    const mine = await this.store.listByUser(userId);
    const live = mine.filter((r) => r.sealed.length > 0);
    if (live.length <= this.limits.maxPerUser) return;
    live.sort((a, b) => (a.seen['1'] ?? a.createdAt) - (b.seen['1'] ?? b.createdAt));
    for (const record of live.slice(0, live.length - this.limits.maxPerUser)) {
      await this.store.delete(record.tokenHash);
    }
  }

  private hold(session: Session): void {
    const key = session.tokenHash.toString('hex');
    let set = this.holding.get(key);
    if (!set) {
      set = new Set();
      this.holding.set(key, set);
    }
    set.add(session);
  }

  private unhold(session: Session): void {
    const key = session.tokenHash.toString('hex');
    const set = this.holding.get(key);
    set?.delete(session);
    if (set?.size === 0) this.holding.delete(key);
  }

  private noteActive(session: Session): void {
    let mine = this.active.get(session.userId);
    if (!mine) {
      mine = new Set();
      this.active.set(session.userId, mine);
    }
    for (const level of session.levels.keys()) mine.add(level);
  }

  /**
   * Applies `change` to the session and writes it, if no other request changed the stored session since this
   * one read it; else re-reads it, applies the change again and retries.
   */
  private async mutate(session: Session, change: (session: Session) => void): Promise<void> {
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      change(session);
      const version = await this.store.replace(session.tokenHash, session.version, {
        sealed: this.seal(session),
        seen: this.seenOf(session),
      });
      if (version !== undefined) {
        session.version = version;
        return;
      }
      const record = await this.store.get(session.tokenHash);
      if (!record || record.sealed.length === 0) {
        session.zero();
        session.released = true;
        throw securityError('authentication_failed', 'The session ended meanwhile; sign in again.');
      }
      session.zero();
      this.load(session, record);
    }
    throw storageError('The session is being changed by too many requests at once; try again.');
  }

  /** A Session from a stored record and its token. */
  private open(token: string, record: SessionRecord): Session {
    const session = this.blank(token, {
      id: record.id,
      userId: record.userId as UserId,
      createdAt: record.createdAt,
      version: record.version,
      hash: record.tokenHash,
    });
    this.load(session, record);
    return session;
  }

  /** Replaces the session's state with the record's (decrypting with the session's token). */
  private load(session: Session, record: SessionRecord): void {
    const plain = this.unseal(session, record.sealed);
    try {
      const headerBytes = plain.readUInt32BE(0);
      const header = JSON.parse(plain.subarray(4, 4 + headerBytes).toString('utf8')) as SealedHeader;
      session.version = record.version;
      session.epoch = header.epoch;
      session.pendingTotp = header.pendingTotp;
      session.challenge = header.challenge;
      session.lastSeen = record.seen['1'] ?? record.createdAt;
      session.expired.clear();
      for (const level of header.expired) if (isSecurityLevel(level)) session.expired.add(level);
      let offset = 4 + headerBytes;
      for (const { level, unlockedAt, bytes } of header.levels) {
        const key = Uint8Array.from(plain.subarray(offset, offset + bytes));
        offset += bytes;
        if (!isSecurityLevel(level)) continue;
        const lastUsed =
          level === 1 ? session.lastSeen : Math.max(record.seen[String(level)] ?? unlockedAt, unlockedAt);
        session.levels.set(level, { key, unlockedAt, lastUsed });
      }
    } finally {
      plain.fill(0);
    }
  }

  private deriveKey(session: Session): Buffer {
    return Buffer.from(hkdfSync('sha256', Buffer.from(session.token, 'utf8'), HKDF_SALT, session.tokenHash, 32));
  }

  private aad(session: Session): Buffer {
    return Buffer.concat([session.tokenHash, Buffer.from(`\0${session.id}\0${session.userId}`, 'utf8')]);
  }

  private seal(session: Session): Buffer {
    const keys = [...session.levels];
    const header: SealedHeader = {
      epoch: session.epoch,
      ...(session.pendingTotp === undefined ? {} : { pendingTotp: session.pendingTotp }),
      ...(session.challenge === undefined ? {} : { challenge: session.challenge }),
      expired: [...session.expired],
      levels: keys.map(([level, held]) => ({ level, unlockedAt: held.unlockedAt, bytes: held.key.byteLength })),
    };
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(headerBytes.length);
    const plain = Buffer.concat([length, headerBytes, ...keys.map(([, held]) => held.key)]);
    const key = this.deriveKey(session);
    try {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(this.aad(session));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return Buffer.concat([Buffer.from([FORMAT]), nonce, body, cipher.getAuthTag()]);
    } finally {
      key.fill(0);
      plain.fill(0);
    }
  }

  private unseal(session: Session, sealed: Buffer): Buffer {
    if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== FORMAT) {
      throw securityError('authentication_failed', 'The stored session is unreadable; sign in again.');
    }
    const key = this.deriveKey(session);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + NONCE_BYTES));
      decipher.setAAD(this.aad(session));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch (error) {
      if (isMemvaultError(error)) throw error;
      // A record whose state does not open under this token was tampered with (or belongs to another token).
      throw securityError('authentication_failed', 'The stored session is unreadable; sign in again.');
    } finally {
      key.fill(0);
    }
  }
}
