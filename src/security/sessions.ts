import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LEVELS, type SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { securityError, validationError } from '../core/errors.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { EntryOpener, SealContext } from '../ports/sealer.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** How long things live, in milliseconds (DESIGN §5). */
export interface SessionLimits {
  /** A level locks after this long without use. Level 1's idle limit is the session's. */
  readonly idle: Readonly<Record<SecurityLevel, number>>;
  /** A level locks this long after it was unlocked, used or not. Level 1's is the session's lifetime. */
  readonly absolute: Readonly<Record<SecurityLevel, number>>;
  /** Sessions one user may hold at once; the oldest is signed out beyond that. */
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

/** A level's unlocked private key as the session holds it. */
interface HeldLevel {
  readonly key: Uint8Array;
  readonly opener: EntryOpener & { dispose(): void };
  readonly unlockedAt: number;
  lastUsed: number;
}

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

/** One live session. Only the store mutates it; callers read it through `view()` and `opener`. */
export class Session {
  readonly id: string;
  readonly userId: UserId;
  readonly createdAt: number;
  lastSeen: number;
  /** Transient TOTP secret between `totpBegin` and `totpConfirm`; never persisted unconfirmed. */
  pendingTotp: string | undefined;
  challenge: PendingChallenge | undefined;
  readonly tokenHash: Buffer;
  /** The person's credential epoch when the session was made; it lives only while that is still current. */
  readonly epoch: number;
  readonly levels = new Map<SecurityLevel, HeldLevel>();
  /** Levels that idled out or hit their limit (as opposed to never unlocked or locked by hand). */
  readonly expired = new Set<SecurityLevel>();
  /** Opens exactly the levels held now; a level that expires between calls stops opening at once. */
  readonly opener: EntryOpener;

  constructor(
    id: string,
    userId: UserId,
    tokenHash: Buffer,
    hooks: { readonly now: () => number; readonly expire: (session: Session) => void },
    epoch = 0,
  ) {
    const now = hooks.now();
    this.id = id;
    this.userId = userId;
    this.tokenHash = tokenHash;
    this.epoch = epoch;
    this.createdAt = now;
    this.lastSeen = now;
    this.pendingTotp = undefined;
    this.challenge = undefined;
    this.opener = {
      canOpen: (level) => {
        hooks.expire(this);
        return this.levels.has(level);
      },
      open: (ctx: SealContext, payload: string) => {
        hooks.expire(this);
        const held = this.levels.get(ctx.level);
        if (!held) {
          throw this.expired.has(ctx.level)
            ? securityError(
                'session_expired',
                `Level ${ctx.level} locked itself after its time limit; unlock it again.`,
                {
                  level: ctx.level,
                },
              )
            : securityError('insufficient_permissions', `Level ${ctx.level} is locked: unlock it to read this entry.`, {
                level: ctx.level,
              });
        }
        held.lastUsed = hooks.now();
        return held.opener.open(ctx, payload);
      },
    };
  }

  get unlocked(): SecurityLevel[] {
    return LEVELS.filter((level) => this.levels.has(level));
  }
}

interface Tombstone {
  readonly userId: UserId;
  readonly sessionId: string;
  readonly at: number;
}

export interface SessionStoreOptions {
  readonly clock?: Clock;
  readonly limits?: Partial<SessionLimits>;
  readonly createOpener: OpenerFactory;
  /** Called with the levels a user no longer holds in any session (lock, expiry, sign-out). */
  readonly onLock?: (userId: UserId, levels: SecurityLevel[]) => void;
  /** Called once when a session expires (for the audit log). */
  readonly onExpire?: (session: { id: string; userId: UserId }) => void;
}

const sha256 = (token: string) => createHash('sha256').update(token, 'utf8').digest();
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Server-side sessions, in memory. A token is 256 random bits (base64url), handed out once and stored only as
 * its SHA-256; a session also has a public id for logs. Each unlocked level holds its private key until it
 * idles out, hits its absolute limit, is locked, or the session ends — then the key buffer is zeroed.
 */
export class SessionStore {
  readonly limits: SessionLimits;
  private readonly clock: Clock;
  private readonly createOpener: OpenerFactory;
  private readonly onLock: ((userId: UserId, levels: SecurityLevel[]) => void) | undefined;
  private readonly onExpire: ((session: { id: string; userId: UserId }) => void) | undefined;
  private readonly byHash = new Map<string, Session>();
  private readonly byUser = new Map<UserId, Set<Session>>();
  private readonly tombstones = new Map<string, Tombstone>();
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(options: SessionStoreOptions) {
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
   * Opens a session holding the given keys (level 1 at least). Returns the bearer token — the only time it
   * exists in the clear on the server. `epoch` is the person's credential epoch read before the credentials
   * were checked.
   */
  create(userId: UserId, keys: ReadonlyMap<SecurityLevel, Uint8Array>, epoch = 0): { token: string; session: Session } {
    const token = randomBytes(32).toString('base64url');
    const hash = sha256(token);
    const session = new Session(
      randomBytes(12).toString('base64url'),
      userId,
      hash,
      {
        now: () => this.now(),
        expire: (s) => this.expireDue(s),
      },
      epoch,
    );
    const now = session.createdAt;
    for (const [level, key] of keys) this.hold(session, level, key, now);
    this.byHash.set(hash.toString('hex'), session);
    let mine = this.byUser.get(userId);
    if (!mine) {
      mine = new Set();
      this.byUser.set(userId, mine);
    }
    mine.add(session);
    if (mine.size > this.limits.maxPerUser) {
      const oldest = [...mine].sort((a, b) => a.lastSeen - b.lastSeen)[0];
      if (oldest && oldest !== session) this.end(oldest);
    }
    return { token, session };
  }

  /**
   * Finds the live session of a token and marks it used.
   * @throws SECURITY_ERROR authentication_failed for an unknown, malformed or signed-out token;
   *   session_expired when it idled out or outlived its limit.
   */
  resolve(token: string): Session {
    const unknown = () => securityError('authentication_failed', 'Not signed in, or the session was signed out.');
    if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) throw unknown();
    const hash = sha256(token);
    const key = hash.toString('hex');
    const session = this.byHash.get(key);
    if (!session || !timingSafeEqual(session.tokenHash, hash)) {
      this.pruneTombstones();
      if (this.tombstones.has(key)) {
        throw securityError('session_expired', 'The session has expired; sign in again.');
      }
      throw unknown();
    }
    const now = this.now();
    if (this.sessionExpired(session, now)) {
      this.expire(session);
      throw securityError('session_expired', 'The session has expired; sign in again.');
    }
    session.lastSeen = now;
    const l1 = session.levels.get(1);
    if (l1) l1.lastUsed = now;
    this.expireLevels(session);
    return session;
  }

  /** True until the session is signed out, expires or is replaced. */
  isLive(session: Session): boolean {
    return this.byHash.get(session.tokenHash.toString('hex')) === session;
  }

  /**
   * Adds (or refreshes) an unlocked level's key. The session takes ownership of the buffer, also when it
   * refuses it: an unlock that finishes after the session ended (signed out while the password was being
   * checked) must not leave a key in a session nobody will ever end again.
   * @throws SECURITY_ERROR authentication_failed when the session is no longer live (the key is zeroed).
   */
  unlock(session: Session, level: SecurityLevel, key: Uint8Array): void {
    if (!this.isLive(session)) {
      key.fill(0);
      throw securityError('authentication_failed', 'The session ended while unlocking; sign in again.');
    }
    this.hold(session, level, key, this.now());
  }

  /** Drops the given levels (default: every level above 1) and zeroes their keys. */
  lock(session: Session, levels: readonly SecurityLevel[] = [2, 3, 4]): void {
    if (levels.includes(1)) {
      throw validationError('Level 1 stays unlocked while you are signed in; sign out instead.', { field: 'level' });
    }
    this.drop(session, levels);
  }

  /** Ends a session: zeroes every key; its token becomes unknown. */
  end(session: Session): void {
    this.drop(session, session.unlocked);
    this.forget(session);
  }

  /** Ends every session of a user (after a password change or key rotation). */
  endAll(userId: UserId): void {
    for (const session of [...(this.byUser.get(userId) ?? [])]) this.end(session);
  }

  /** When each held level expires (the earlier of its idle and absolute limits). */
  expiries(session: Session): Partial<Record<SecurityLevel, number>> {
    const out: Partial<Record<SecurityLevel, number>> = {};
    for (const [level, held] of session.levels) {
      out[level] = Math.min(held.lastUsed + this.limits.idle[level], held.unlockedAt + this.limits.absolute[level]);
    }
    return out;
  }

  /** Issues a fresh WebAuthn challenge for this session, replacing any earlier one. */
  issueChallenge(session: Session, purpose: PendingChallenge['purpose']): string {
    const value = randomBytes(32).toString('base64url');
    session.challenge = { value, purpose, expiresAt: this.now() + this.limits.challenge };
    return value;
  }

  /** Takes the session's challenge for `purpose` (single use); undefined when none is pending or it expired. */
  takeChallenge(session: Session, purpose: PendingChallenge['purpose']): string | undefined {
    const pending = session.challenge;
    session.challenge = undefined;
    if (!pending || pending.purpose !== purpose || pending.expiresAt < this.now()) return undefined;
    return pending.value;
  }

  /** Expires what is due in every session now; run it on a timer so idle keys do not linger in memory. */
  sweep(): void {
    for (const session of [...this.byHash.values()]) this.expireDue(session);
    this.pruneTombstones();
  }

  /** Ends the session when it is due, else drops its levels that are due. */
  private expireDue(session: Session): void {
    if (!this.byHash.has(session.tokenHash.toString('hex'))) return;
    if (this.sessionExpired(session, this.now())) this.expire(session);
    else this.expireLevels(session);
  }

  /** Starts a background sweep every `intervalMs` (unref'd, so it never keeps the process alive). */
  startSweeper(intervalMs = 30_000): void {
    this.stopSweeper();
    this.sweeper = setInterval(() => this.sweep(), intervalMs);
    this.sweeper.unref();
  }

  stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** Ends every session (shutdown). */
  close(): void {
    this.stopSweeper();
    for (const session of [...this.byHash.values()]) this.end(session);
  }

  /** Number of live sessions (for metrics and tests). */
  get size(): number {
    return this.byHash.size;
  }

  private hold(session: Session, level: SecurityLevel, key: Uint8Array, now: number): void {
    const previous = session.levels.get(level);
    if (previous) this.release(previous);
    const opener = this.createOpener(session.userId, new Map([[level, key]]));
    session.levels.set(level, { key, opener, unlockedAt: now, lastUsed: now });
    session.expired.delete(level);
  }

  private release(held: HeldLevel): void {
    try {
      held.opener.dispose();
    } finally {
      held.key.fill(0);
    }
  }

  private sessionExpired(session: Session, now: number): boolean {
    return (
      now - session.lastSeen > this.limits.idle[1] ||
      now - session.createdAt > this.limits.absolute[1] ||
      !session.levels.has(1)
    );
  }

  /** Drops the levels of a live session that idled out or outlived their absolute limit. */
  private expireLevels(session: Session): void {
    const now = this.now();
    const due: SecurityLevel[] = [];
    for (const [level, held] of session.levels) {
      if (level === 1) continue;
      if (now - held.lastUsed > this.limits.idle[level] || now - held.unlockedAt > this.limits.absolute[level]) {
        due.push(level);
      }
    }
    if (due.length > 0) {
      this.drop(session, due);
      for (const level of due) session.expired.add(level);
    }
  }

  private expire(session: Session): void {
    const key = session.tokenHash.toString('hex');
    this.end(session);
    this.tombstones.set(key, { userId: session.userId, sessionId: session.id, at: this.now() });
    this.onExpire?.({ id: session.id, userId: session.userId });
  }

  private drop(session: Session, levels: readonly SecurityLevel[]): void {
    const dropped: SecurityLevel[] = [];
    for (const level of levels) {
      const held = session.levels.get(level);
      if (!held) continue;
      session.levels.delete(level);
      this.release(held);
      dropped.push(level);
    }
    if (dropped.length === 0 || !this.onLock) return;
    // The search index is per user: only tell it to forget what no other session of the user still holds.
    const others = [...(this.byUser.get(session.userId) ?? [])].filter((s) => s !== session);
    const gone = dropped.filter((level) => !others.some((s) => s.levels.has(level)));
    // The keys are zeroed already, so a throwing listener cannot keep them alive.
    if (gone.length > 0) this.onLock(session.userId, gone);
  }

  private forget(session: Session): void {
    this.byHash.delete(session.tokenHash.toString('hex'));
    const mine = this.byUser.get(session.userId);
    mine?.delete(session);
    if (mine?.size === 0) this.byUser.delete(session.userId);
    session.pendingTotp = undefined;
    session.challenge = undefined;
  }

  private pruneTombstones(): void {
    const cutoff = this.now() - this.limits.tombstone;
    for (const [key, stone] of this.tombstones) {
      if (stone.at >= cutoff && this.tombstones.size <= 100_000) break;
      this.tombstones.delete(key);
    }
  }
}
