import { AsyncLocalStorage } from 'node:async_hooks';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { isSecurityLevel, LEVEL_NAMES, type SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { isMemvaultError, MemvaultError, notFound, securityError, validationError } from '../core/errors.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { EntryOpener, EntrySealer } from '../ports/sealer.js';
import type { DocumentStore } from '../ports/documents.js';
import type { SessionStorePort } from '../ports/session-store.js';
import type {
  AuditLog,
  AuditRecord,
  AuthenticatedSession,
  AuthService,
  RequestMeta,
  SessionView,
  TotpEnrollment,
} from '../ports/security.js';
import type { UserProfile } from '../ports/vault.js';
import { checkAccess } from './access-policy.js';
import { type AuthRecord, AuthStore } from './auth-store.js';
import type { UnlockSecrets } from './keyring.js';
import { lazySqliteSessionStore } from './lazy-session-store.js';
import type { LockoutPolicy } from './lockout.js';
import {
  authenticationOptions,
  registrationOptions,
  type RelyingParty,
  verifyAssertion,
  verifyRegistration,
} from './passkeys.js';
import { checkPasswordPolicy, normalizePassword, PASSWORD_MAX_LENGTH } from './passwords.js';
import { assessRisk, RISK_ALERT_THRESHOLD } from './risk.js';
import { createOpener } from './seal.js';
import { type OpenerFactory, type Session, type SessionLimits, SessionManager } from './sessions.js';
import { SharedLockout } from './shared-lockout.js';
import { newTotpSecret, totpEnrollment, verifyTotp } from './totp.js';

/** The keyring operations the service uses (KeyringStore implements them). */
export interface AuthKeyring {
  exists(userId: UserId): Promise<boolean>;
  create(userId: UserId, password: string | null): Promise<void>;
  hasPassword(userId: UserId): Promise<boolean>;
  unwrapMany(
    userId: UserId,
    levels: readonly SecurityLevel[],
    secrets: UnlockSecrets,
  ): Promise<Map<SecurityLevel, Uint8Array>>;
  dummyVerify(password: string): Promise<false>;
  changePassword(userId: UserId, oldPassword: string | null, newPassword: string): Promise<void>;
  enrollPrf(userId: UserId, password: string, prf: Uint8Array): Promise<void>;
  prfEnrolled(userId: UserId): Promise<boolean>;
}

/** Structured logger (pino's shape). Never handed a password, code, token or message text. */
export interface AuthLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface AuthServiceDeps {
  readonly dataDir: string;
  /** The server master key; the TOTP secrets' sealing key is derived from it. */
  readonly masterKey: Uint8Array;
  readonly keyring: AuthKeyring;
  readonly audit: AuditLog;
  readonly profiles: (userId: UserId) => Promise<UserProfile>;
  readonly sealer: EntrySealer;
  readonly clock?: Clock;
  readonly webauthn: RelyingParty;
  /** Fires for every audit record whose risk is above 0.7. */
  readonly onAlert?: (record: AuditRecord) => void;
  /** Fires with the levels a user no longer holds in any session (lock, expiry, sign-out): forget their data. */
  readonly onLock?: (userId: UserId, levels: SecurityLevel[]) => void;
  readonly logger?: AuthLogger;
  readonly limits?: Partial<SessionLimits>;
  readonly lockout?: Partial<LockoutPolicy>;
  /** Builds openers from unwrapped keys; default the keyring's `createOpener`. */
  readonly createOpener?: OpenerFactory;
  /** Sweep expired sessions and levels on a timer (default true; tests with a fake clock call `sweep()`). */
  readonly sweepIntervalMs?: number | false;
  /**
   * Where sessions and lockout counters live, shared by every process over the same data (default: SQLite at
   * `<dataDir>/sessions.db`, opened on first use).
   */
  readonly sessionStore?: SessionStorePort;
  /** Where the sign-in factors (AUTH records) live: PostgreSQL mode's store; default the data dir's files. */
  readonly documents?: DocumentStore;
}

/** The AuthService plus the handles the composition root needs. */
export interface AuthServiceHandle extends AuthService {
  /**
   * Signs out every session of a user held by this process only. `revokeSessions` (the port) reaches every
   * process; prefer it when the change may be seen by another one (a rotation by the CLI while the server runs).
   */
  endSessions(userId: UserId): Promise<void>;
  /**
   * A copy of the private key of a level the session holds now (the caller zeroes it): a personal access token
   * created inside the session wraps it, so the token reaches that level without the password.
   * @throws SECURITY_ERROR insufficient_permissions when the level is not unlocked in this session.
   */
  sessionKey(token: string, level: SecurityLevel): Promise<{ userId: UserId; key: Uint8Array }>;
  /** Expires due sessions and levels now. */
  sweep(): Promise<void>;
  /** Stops the sweeper and closes the session store. Sessions stay stored: a restart signs no one out. */
  close(): Promise<void>;
  /** The shared store of sessions and counters (rate limits use it too; /v1/ready pings it). */
  readonly sessionStore: SessionStorePort;
}

type AuditEntry = {
  readonly action: string;
  readonly result: AuditRecord['result'];
  readonly reason?: string;
  readonly level?: SecurityLevel;
  readonly session?: string;
};

/** An attempt counted before its credentials are checked; see `reserveAttempt`. */
interface Reservation {
  succeed(): Promise<void>;
  refund(): Promise<void>;
}

const WRONG_CREDENTIALS = 'Wrong phone number or password.';
/** Channels whose caller has proven the phone number (or runs the server): they may set a first password. */
const FIRST_PASSWORD_CHANNELS = new Set(['cli', 'telegram', 'whatsapp', 'sms']);

/**
 * Authentication, sessions and access control (DESIGN §5; the seed's `verify_access_permissions`). Every
 * attempt is checked in the seed's order — authentication, the user's maximum level, the level's time window,
 * the level's factors — and written to the user's audit log with a risk score.
 */
export function createAuthService(deps: AuthServiceDeps): AuthServiceHandle {
  const clock = deps.clock ?? systemClock;
  const keyring = deps.keyring;
  const store = new AuthStore({ dataDir: deps.dataDir, masterKey: deps.masterKey, documents: deps.documents });
  const sessionStore = deps.sessionStore ?? lazySqliteSessionStore({ path: join(deps.dataDir, 'sessions.db'), clock });
  const lockout = new SharedLockout({
    store: sessionStore,
    clock,
    ...(deps.lockout ? { policy: deps.lockout } : {}),
  });
  const makeOpener = deps.createOpener ?? createOpener;
  const logger = deps.logger;
  /** Per person, what a session view shows of their factors, with the record version it was read at. */
  const summaries = new Map<UserId, { version: string | undefined; totpEnrolled: boolean; passkeys: number }>();
  // Sign-in timing must not tell whether a number has an account. Both answers run one Argon2id with the same
  // parameters (an unknown number's against a fixed dummy verifier). Beyond it, a known person's failure reads
  // the keyring and profile and appends a durable audit record; an unknown number has none of that, so it waits
  // out the median of that extra work over recent known failures. A median of the extra work (not a mean, not
  // the whole duration) keeps the unknown answer from being pulled up by slow outliers, which made it the
  // slower one before.
  const failureOverheads: number[] = [];
  const OVERHEAD_SAMPLES = 31;
  const noteFailureOverhead = (ms: number) => {
    failureOverheads.push(ms);
    if (failureOverheads.length > OVERHEAD_SAMPLES) failureOverheads.shift();
  };
  const failureOverhead = (): number => {
    if (failureOverheads.length === 0) return 0;
    const sorted = [...failureOverheads].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  };

  const sessions = new SessionManager({
    store: sessionStore,
    clock,
    createOpener: makeOpener,
    ...(deps.limits ? { limits: deps.limits } : {}),
    ...(deps.onLock ? { onLock: deps.onLock } : {}),
    onExpire: ({ id, userId }) => {
      audit(userId, { action: 'session_expire', result: 'success', session: id }).catch((error: unknown) =>
        logger?.warn({ userId, session: id, err: errorCode(error) }, 'could not write an audit record'),
      );
    },
  });
  if (deps.sweepIntervalMs !== false) {
    sessions.startSweeper(deps.sweepIntervalMs ?? 30_000, (error) =>
      logger?.warn({ err: errorCode(error) }, 'session sweep failed'),
    );
  }

  const now = () => clock.now();

  async function audit(userId: UserId, entry: AuditEntry, meta: RequestMeta = {}, risk?: number): Promise<void> {
    const record = await deps.audit.append(userId, {
      action: entry.action,
      result: entry.result,
      ...(entry.reason === undefined ? {} : { reason: entry.reason }),
      ...(entry.level === undefined ? {} : { level: entry.level }),
      ...(meta.ip === undefined ? {} : { ip: meta.ip }),
      ...(meta.userAgent === undefined ? {} : { userAgent: meta.userAgent }),
      ...(meta.deviceId === undefined ? {} : { device: meta.deviceId }),
      ...(entry.session === undefined ? {} : { session: entry.session }),
      ...(risk === undefined ? {} : { risk }),
    });
    if (record.risk > RISK_ALERT_THRESHOLD) deps.onAlert?.(record);
  }

  /** Risk of this attempt from the user's own history (DESIGN §5). */
  async function riskOf(userId: UserId, meta: RequestMeta, timezone?: string): Promise<number> {
    const history = await deps.audit.list(userId, { limit: 200 });
    const zone = timezone ?? (await profileOrNull(userId))?.timezone ?? 'UTC';
    return assessRisk({ history, meta, now: now(), timezone: zone }).score;
  }

  /** Audits an attempt with its risk; a failing audit write never hides the attempt's own outcome. */
  async function auditAttempt(userId: UserId, entry: AuditEntry, meta: RequestMeta, timezone?: string) {
    try {
      await audit(userId, entry, meta, await riskOf(userId, meta, timezone));
    } catch (error) {
      logger?.warn({ userId, action: entry.action, err: errorCode(error) }, 'could not write an audit record');
      if (entry.result === 'success') throw error;
    }
  }

  async function profileOrNull(userId: UserId): Promise<UserProfile | null> {
    try {
      return await deps.profiles(userId);
    } catch (error) {
      if (isMemvaultError(error, 'NOT_FOUND')) return null;
      throw error;
    }
  }

  /** The profile, or the vault's defaults while sign-up has created the keyring but not yet the profile. */
  async function profileOf(userId: UserId): Promise<UserProfile> {
    return (
      (await profileOrNull(userId)) ?? {
        userId,
        name: null,
        timezone: 'UTC',
        createdAt: now().toISOString(),
        maxLevel: 4,
        email: null,
        preferences: {},
      }
    );
  }

  /**
   * Re-read when the record changed (its version: a stat, or one indexed row), so an enrolment made by another
   * process or server shows here too. The version is taken before the read: a write in between makes it stale,
   * which only costs another read.
   */
  async function summary(userId: UserId) {
    const version = await store.version(userId);
    let cached = summaries.get(userId);
    if (!cached || cached.version !== version) {
      const record = await store.load(userId);
      cached = { version, totpEnrolled: record.totp !== null, passkeys: record.passkeys.length };
      summaries.set(userId, cached);
    }
    return cached;
  }

  /** After this process changed the record: the next view reads it again. */
  function remember(userId: UserId, _record: AuthRecord): void {
    summaries.delete(userId);
  }

  /** The session as the caller sees it; its opener works until `release` (the edge calls it when the request ends). */
  async function view(session: Session): Promise<AuthenticatedSession & { release(): Promise<void> }> {
    const expires: Partial<Record<SecurityLevel, string>> = {};
    for (const [level, at] of Object.entries(sessions.expiries(session))) {
      expires[Number(level) as SecurityLevel] = new Date(at).toISOString();
    }
    const { totpEnrolled, passkeys } = await summary(session.userId);
    const sessionView: SessionView = {
      id: session.id,
      userId: session.userId,
      createdAt: new Date(session.createdAt).toISOString(),
      unlocked: session.unlocked,
      expires,
      totpEnrolled,
      passkeys,
    };
    return { session: sessionView, opener: session.opener, release: () => sessions.release(session) };
  }

  /** Throws locked_out (audited) while the user or this network is locked. */
  async function assertNotLocked(
    userId: UserId,
    known: boolean,
    meta: RequestMeta,
    action: string,
    level?: SecurityLevel,
  ) {
    try {
      await lockout.assertOpen(userId, meta.ip);
    } catch (error) {
      if (known) await auditLockedOut(userId, meta, action, level);
      throw error;
    }
  }

  /** Records that an attempt of a known user was refused because a lockout is pending. */
  async function auditLockedOut(userId: UserId, meta: RequestMeta, action: string, level?: SecurityLevel) {
    await auditAttempt(userId, { action, result: 'denied', reason: 'locked_out', ...(level ? { level } : {}) }, meta);
  }

  /**
   * Counts an attempt as a failed guess before its credentials are checked (Lockout.reserve), so guesses sent
   * in parallel cannot all be evaluated before the first is counted. Persists the user-wide counter once it
   * locks, so a restart keeps the lock. The caller settles the reservation: `succeed` when the credentials were
   * right, `refund` when the attempt ended without judging them; a wrong guess stays counted.
   * @throws SECURITY_ERROR locked_out (audited for a known user) while a lock is pending.
   */
  async function reserveAttempt(
    userId: UserId,
    known: boolean,
    meta: RequestMeta,
    action: string,
    level?: SecurityLevel,
  ): Promise<Reservation> {
    try {
      await lockout.reserve(userId, meta.ip);
    } catch (error) {
      if (known) await auditLockedOut(userId, meta, action, level);
      throw error;
    }
    let settled = false;
    return {
      succeed: async () => {
        if (settled) return;
        settled = true;
        await countSuccess(userId, meta);
      },
      refund: async () => {
        if (settled) return;
        settled = true;
        await lockout.refund(userId, meta.ip);
      },
    };
  }

  /**
   * Ends every session of the user, here and in every other process: the credential epoch moves on, so a
   * session made under the old one is refused wherever it is resolved. The bump comes after the new
   * credentials are stored, and sign-in reads the epoch before it reads the keyring: a sign-in that checked an
   * old password therefore always carries an old epoch.
   */
  async function revokeSessions(userId: UserId): Promise<void> {
    try {
      await store.update(userId, (record) => {
        record.credentialEpoch += 1;
      });
    } finally {
      await sessions.endAll(userId);
    }
  }

  async function countSuccess(userId: UserId, meta: RequestMeta): Promise<void> {
    await lockout.succeed(userId, meta.ip);
  }

  function isReason(error: unknown, ...reasons: string[]): error is MemvaultError {
    return isMemvaultError(error, 'SECURITY_ERROR') && reasons.includes(error.reason ?? '');
  }

  function zero(keys: Map<SecurityLevel, Uint8Array> | null | undefined): void {
    if (keys) for (const key of keys.values()) key.fill(0);
  }

  function normalizeAttempt(password: unknown): string {
    if (typeof password !== 'string') return '';
    const normalized = normalizePassword(password);
    // Longer than any accepted password cannot be right; clip it so Argon2id's cost stays bounded.
    return [...normalized].length > PASSWORD_MAX_LENGTH
      ? [...normalized].slice(0, PASSWORD_MAX_LENGTH).join('')
      : normalized;
  }

  /**
   * The sessions each service call resolved, released (keys zeroed) when the call returns. Only `resolve`
   * hands its session to the caller, who releases it when the request ends.
   */
  const callScope = new AsyncLocalStorage<Session[]>();
  function released<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return (...args) => {
      const held: Session[] = [];
      return callScope.run(held, async () => {
        try {
          return await fn(...args);
        } finally {
          for (const session of held) await sessions.release(session);
        }
      });
    };
  }

  /** The live session of a token: known, not expired, and made under the person's current credential epoch. */
  async function resolveSession(token: string): Promise<Session> {
    let session: Session;
    try {
      session = await sessions.resolve(token);
      callScope.getStore()?.push(session);
    } catch (error) {
      if (isReason(error, 'authentication_failed')) logger?.info({ reason: 'unknown_token' }, 'session token refused');
      throw error;
    }
    let epoch: number;
    try {
      epoch = await store.credentialEpoch(session.userId);
    } catch (error) {
      await sessions.release(session);
      throw error;
    }
    if (epoch !== session.epoch) {
      // The password changed, or every session was signed out, possibly in another process (the CLI).
      await sessions.end(session);
      logger?.info({ reason: 'credentials_changed', session: session.id }, 'session token refused');
      throw securityError(
        'authentication_failed',
        'This session was signed out: the password was changed or every session was ended. Sign in again.',
      );
    }
    return session;
  }

  function requireLevel(session: Session, level: SecurityLevel, purpose: string): void {
    if (!session.levels.has(level)) {
      throw securityError(
        'insufficient_permissions',
        `${purpose} needs ${LEVEL_NAMES[level]} (level ${level}) unlocked in this session first.`,
        { level },
      );
    }
  }

  /**
   * Checks a TOTP code and spends its time step under the person's lock, so the same code never works twice —
   * not even when two requests (or two processes) present it at once. `replayed`: the code is right but its
   * step was already spent; the caller audits that, and answers exactly as for a wrong code.
   */
  async function spendTotp(userId: UserId, code: unknown): Promise<'ok' | 'wrong' | 'replayed'> {
    if (typeof code !== 'string') return 'wrong';
    return store.update(userId, async (record) => {
      if (!record.totp) return 'wrong';
      const secret = store.openSecret(userId, record.totp.sealed);
      const step = await verifyTotp(secret, code, { now: now(), afterStep: record.totp.lastStep });
      if (step === null) {
        if (record.totp.lastStep === null) return 'wrong';
        return (await verifyTotp(secret, code, { now: now() })) === null ? 'wrong' : 'replayed';
      }
      record.totp.lastStep = step;
      return 'ok';
    });
  }

  /** The audit reason of a failed password (+ TOTP) check: a replayed code is named, a wrong one is not. */
  function failureReason(totp: 'ok' | 'wrong' | 'replayed'): string {
    return totp === 'replayed' ? 'totp_replayed' : 'authentication_failed';
  }

  async function requireTotpEnrolled(userId: UserId): Promise<void> {
    if (!(await summary(userId)).totpEnrolled) {
      throw securityError(
        'second_factor_required',
        'Secret memories need an authenticator app: set one up in Settings → Two-step verification in the web app, or with `memvault totp enroll`.',
        { factor: 'totp' },
      );
    }
  }

  const service: AuthServiceHandle = {
    sealer: deps.sealer,

    async enroll(userId, password, about) {
      let normalized: string | null = null;
      if (password !== null) {
        const name = about?.name ?? (await profileOrNull(userId))?.name ?? null;
        normalized = checkPasswordPolicy(password, { userId, name });
      }
      await keyring.create(userId, normalized);
      // The keyring exists now; failing here would strand it half-enrolled, so a lost record is only logged.
      await audit(userId, { action: 'enroll', result: 'success' }).catch((error: unknown) =>
        logger?.warn({ userId, action: 'enroll', err: errorCode(error) }, 'could not write an audit record'),
      );
      logger?.info({ userId, withPassword: normalized !== null }, 'keyring created');
    },

    hasPassword(userId) {
      return keyring.hasPassword(userId);
    },

    isEnrolled(userId) {
      return keyring.exists(userId);
    },

    checkPassword(password, about) {
      checkPasswordPolicy(password, { userId: about.userId, name: about.name ?? null });
    },

    async changePassword(userId, oldPassword, newPassword, meta) {
      const known = await keyring.exists(userId);
      await assertNotLocked(userId, known, meta, 'password_change');
      const profile = known ? await profileOrNull(userId) : null;
      const next = checkPasswordPolicy(newPassword, { userId, name: profile?.name ?? null });
      if (!known) {
        await reserveAttempt(userId, false, meta, 'password_change');
        await keyring.dummyVerify(normalizeAttempt(oldPassword));
        throw securityError('authentication_failed', WRONG_CREDENTIALS);
      }
      // A user created from a messaging channel has no password yet. Setting the first one proves nothing by
      // itself, so only the local operator (CLI) or the verified channel identity may do it.
      const first = oldPassword === '' && !(await keyring.hasPassword(userId));
      if (first && !FIRST_PASSWORD_CHANNELS.has(meta.channel ?? '')) {
        await auditAttempt(
          userId,
          { action: 'password_change', result: 'denied', reason: 'authentication_failed' },
          meta,
        );
        throw securityError(
          'authentication_failed',
          'Setting a first password needs the local CLI or a message from your verified channel.',
        );
      }
      const old = first ? null : normalizeAttempt(oldPassword);
      const reservation = await reserveAttempt(userId, true, meta, 'password_change');
      try {
        await keyring.changePassword(userId, old, next);
      } catch (error) {
        if (!isReason(error, 'authentication_failed')) {
          await reservation.refund();
          throw error;
        }
        await auditAttempt(
          userId,
          { action: 'password_change', result: 'failure', reason: 'authentication_failed' },
          meta,
        );
        throw securityError('authentication_failed', 'The current password is wrong.');
      }
      await reservation.succeed();
      // Sessions unlocked with the old password end: whoever knew it is signed out everywhere.
      await revokeSessions(userId);
      await auditAttempt(userId, { action: 'password_change', result: 'success' }, meta, profile?.timezone);
    },

    async signIn(userId, password, meta) {
      const started = performance.now();
      const known = (await keyring.exists(userId)) && (await keyring.hasPassword(userId));
      const attempt = normalizeAttempt(password);
      const reservation = await reserveAttempt(userId, known, meta, 'sign_in');
      if (!known || attempt.length === 0) {
        const kdfStarted = performance.now();
        await keyring.dummyVerify(attempt);
        const kdfMs = performance.now() - kdfStarted;
        const wait = failureOverhead() - (performance.now() - started - kdfMs);
        if (wait > 0) await sleep(wait);
        logger?.info({ reason: 'authentication_failed', action: 'sign_in' }, 'sign-in refused');
        throw securityError('authentication_failed', WRONG_CREDENTIALS);
      }
      let profile: UserProfile;
      let epoch: number;
      try {
        profile = await profileOf(userId);
        // Read before the keyring: see revokeSessions for why this order makes a racing password change win.
        epoch = await store.credentialEpoch(userId);
      } catch (error) {
        await reservation.refund();
        throw error;
      }
      let keys: Map<SecurityLevel, Uint8Array>;
      const kdfStarted = performance.now();
      try {
        keys = await keyring.unwrapMany(userId, [1, 2], { password: attempt });
      } catch (error) {
        const kdfMs = performance.now() - kdfStarted;
        if (!isReason(error, 'authentication_failed')) {
          await reservation.refund();
          throw error;
        }
        await auditAttempt(
          userId,
          { action: 'sign_in', result: 'failure', reason: 'authentication_failed' },
          meta,
          profile.timezone,
        );
        noteFailureOverhead(performance.now() - started - kdfMs);
        throw securityError('authentication_failed', WRONG_CREDENTIALS);
      }
      await reservation.succeed();
      // Level 2 comes with the password unless the user's limits (maximum level, time window) deny it now.
      let level2Denied: string | undefined;
      try {
        checkAccess({ profile, level: 2, factors: { password: attempt }, now: now() });
      } catch (error) {
        if (!isMemvaultError(error, 'SECURITY_ERROR')) throw error;
        level2Denied = error.reason;
        keys.get(2)?.fill(0);
        keys.delete(2);
      }
      if ((await store.credentialEpoch(userId)) !== epoch) {
        // The password changed (or every session was ended) while this one was being checked.
        zero(keys);
        await auditAttempt(
          userId,
          { action: 'sign_in', result: 'failure', reason: 'credentials_changed' },
          meta,
          profile.timezone,
        );
        throw securityError(
          'authentication_failed',
          'Your sessions were ended while you were signing in (a password change, a key rotation or "sign out ' +
            'everywhere"); sign in again, with the current password.',
          { credentialsChanged: true },
        );
      }
      // A revocation that lands after the check above bumped the epoch first: this session carries the old one
      // and is refused at its first use.
      const { token, session } = await sessions.create(userId, keys, epoch);
      try {
        await auditAttempt(
          userId,
          {
            action: 'sign_in',
            result: 'success',
            level: level2Denied ? 1 : 2,
            session: session.id,
            ...(level2Denied ? { reason: `level_2_${level2Denied}` } : {}),
          },
          meta,
          profile.timezone,
        );
      } catch (error) {
        // No access goes unrecorded: a session whose sign-in could not be audited is ended unused.
        await sessions.end(session);
        throw error;
      }
      try {
        return { token, ...(await view(session)) };
      } catch (error) {
        await sessions.release(session);
        throw error;
      }
    },

    async resolve(token, _meta) {
      const session = await resolveSession(token);
      try {
        return await view(session);
      } catch (error) {
        await sessions.release(session);
        throw error;
      }
    },

    async unlock(token, level, factors, meta) {
      if (!isSecurityLevel(level)) throw validationError('Security level must be 1 to 4.', { field: 'level' });
      const session = await resolveSession(token);
      const userId = session.userId;
      if (session.levels.has(level) && level === 1) return view(session);
      await assertNotLocked(userId, true, meta, 'unlock', level);
      const profile = await profileOf(userId);
      let auditReason: string | undefined;
      const deny = async (error: MemvaultError, result: AuditRecord['result'] = 'denied') => {
        await auditAttempt(
          userId,
          { action: 'unlock', result, reason: auditReason ?? error.reason ?? error.code, level, session: session.id },
          meta,
          profile.timezone,
        );
        return error;
      };
      try {
        checkAccess({ profile, level, factors, now: now() });
        if (level === 3) await requireTotpEnrolled(userId);
      } catch (error) {
        if (isMemvaultError(error, 'SECURITY_ERROR')) throw await deny(error);
        throw error;
      }
      const password = normalizeAttempt(factors.password);
      const reservation = await reserveAttempt(userId, true, meta, 'unlock', level);
      let keys: Map<SecurityLevel, Uint8Array> | null = null;
      try {
        if (level === 4) {
          keys = await unlockWithPasskey(session, password, factors.passkey);
        } else {
          // Both factors are always checked, so the answer never says which one was wrong.
          const [unwrapped, totp] = await Promise.all([
            keyring.unwrapMany(userId, [level], { password }).catch((error: unknown) => {
              if (isReason(error, 'authentication_failed')) return null;
              throw error;
            }),
            level === 3 ? spendTotp(userId, factors.totp) : Promise.resolve('ok' as const),
          ]);
          keys = unwrapped;
          if (!keys || totp !== 'ok') {
            auditReason = failureReason(totp);
            throw securityError(
              'authentication_failed',
              level === 3
                ? 'The password or the authenticator code is wrong (each code works once).'
                : 'The password is wrong.',
              { level },
            );
          }
        }
      } catch (error) {
        zero(keys);
        if (isReason(error, 'authentication_failed', 'biometric_failed')) throw await deny(error, 'failure');
        await reservation.refund();
        throw error;
      }
      const key = keys.get(level);
      keys.delete(level);
      zero(keys);
      if (!key)
        throw new MemvaultError('SECURITY_ERROR', 'The keyring returned no key for this level.', {
          reason: 'authentication_failed',
        });
      await reservation.succeed();
      try {
        // Refuses (and zeroes the key) when the session was signed out while the factors were checked.
        await sessions.unlock(session, level, key);
      } catch (error) {
        if (isMemvaultError(error, 'SECURITY_ERROR')) throw await deny(error, 'failure');
        throw error;
      }
      try {
        await auditAttempt(
          userId,
          { action: 'unlock', result: 'success', level, session: session.id },
          meta,
          profile.timezone,
        );
      } catch (error) {
        await sessions.lock(session, [level]);
        throw error;
      }
      return view(session);
    },

    async lock(token, level) {
      if (level !== undefined && !isSecurityLevel(level)) {
        throw validationError('Security level must be 1 to 4.', { field: 'level' });
      }
      const session = await resolveSession(token);
      const levels = level === undefined ? session.unlocked.filter((l) => l > 1) : [level];
      await sessions.lock(session, levels);
      await audit(session.userId, {
        action: 'lock',
        result: 'success',
        session: session.id,
        ...(level === undefined ? {} : { level }),
      });
      return view(session);
    },

    async signOut(token) {
      let session: Session;
      try {
        session = await sessions.resolve(token);
      } catch (error) {
        // Signing out what is already gone is done.
        if (isReason(error, 'authentication_failed', 'session_expired')) return;
        throw error;
      }
      await sessions.end(session);
      await audit(session.userId, { action: 'sign_out', result: 'success', session: session.id });
    },

    async signOutEverywhere(token, meta) {
      const session = await resolveSession(token);
      await revokeSessions(session.userId);
      await auditAttempt(
        session.userId,
        { action: 'sign_out_everywhere', result: 'success', session: session.id },
        meta,
      );
    },

    async totpBegin(token): Promise<TotpEnrollment> {
      const session = await resolveSession(token);
      requireLevel(session, 2, 'Setting up an authenticator app');
      // Replacing an enrolled authenticator must not be a way around it.
      if ((await summary(session.userId)).totpEnrolled) requireLevel(session, 3, 'Replacing the authenticator app');
      const secret = await newTotpSecret();
      await sessions.setPendingTotp(session, secret);
      return totpEnrollment(secret, session.userId);
    },

    async totpConfirm(token, code, meta) {
      const session = await resolveSession(token);
      const userId = session.userId;
      const pending = session.pendingTotp;
      if (!pending) {
        throw validationError('Start the authenticator setup first; then enter the code it shows.', { field: 'code' });
      }
      const step = await verifyTotp(pending, typeof code === 'string' ? code : '', { now: now() });
      if (step === null) {
        await auditAttempt(
          userId,
          { action: 'totp_enroll', result: 'failure', reason: 'authentication_failed', session: session.id },
          meta,
        );
        throw securityError(
          'authentication_failed',
          'That code does not match. Check that the phone’s clock is right and enter the newest code.',
        );
      }
      const record = await store.update(userId, (r) => {
        r.totp = { sealed: store.sealSecret(userId, pending), lastStep: step, enrolledAt: now().toISOString() };
        return r;
      });
      await sessions.setPendingTotp(session, undefined);
      remember(userId, record);
      await auditAttempt(userId, { action: 'totp_enroll', result: 'success', session: session.id }, meta);
    },

    async passkeyRegistrationOptions(token) {
      const session = await resolveSession(token);
      const record = await store.update(session.userId, (r) => r);
      remember(session.userId, record);
      requirePasskeyRights(session, record);
      const challenge = await sessions.issueChallenge(session, 'register');
      return registrationOptions({
        rp: deps.webauthn,
        challenge,
        userName: session.userId,
        webauthnUserId: record.webauthnUserId,
        prfSalt: record.prfSalt,
        existing: record.passkeys,
      });
    },

    async passkeyRegister(token, response, meta) {
      const session = await resolveSession(token);
      const userId = session.userId;
      requirePasskeyRights(session, await store.load(userId));
      const challenge = await sessions.takeChallenge(session, 'register');
      if (!challenge) {
        throw securityError('biometric_failed', 'The passkey set-up timed out or was already used; start it again.');
      }
      const { credential, password } = splitPassword(response);
      let result: Awaited<ReturnType<typeof verifyRegistration>>;
      try {
        result = await verifyRegistration({ rp: deps.webauthn, response: credential, challenge, now: now() });
      } catch (error) {
        if (isMemvaultError(error, 'SECURITY_ERROR')) {
          await auditAttempt(
            userId,
            {
              action: 'passkey_register',
              result: 'failure',
              reason: error.reason ?? 'biometric_failed',
              session: session.id,
            },
            meta,
          );
        }
        throw error;
      }
      const { passkey, prf } = result;
      let prfEnrolled = false;
      if (prf && password !== undefined && !(await keyring.prfEnrolled(userId))) {
        // The PRF output joins the password in wrapping level 4; enrolling it proves the password too.
        let reservation: Reservation | undefined;
        try {
          reservation = await reserveAttempt(userId, true, meta, 'passkey_register', 4);
          await keyring.enrollPrf(userId, normalizeAttempt(password), prf);
          prfEnrolled = true;
          await reservation.succeed();
        } catch (error) {
          if (!isReason(error, 'authentication_failed', 'locked_out')) await reservation?.refund();
          if (isReason(error, 'authentication_failed')) {
            await auditAttempt(
              userId,
              { action: 'passkey_register', result: 'failure', reason: 'authentication_failed', session: session.id },
              meta,
            );
          }
          throw error;
        } finally {
          prf.fill(0);
        }
      }
      const record = await store.update(userId, (r) => {
        if (r.passkeys.some((p) => p.id === passkey.id)) {
          throw new MemvaultError('CONFLICT', 'This passkey is already registered.');
        }
        r.passkeys.push(passkey);
        if (prfEnrolled) r.prfCredentialId = passkey.id;
        return r;
      });
      remember(userId, record);
      await auditAttempt(
        userId,
        { action: 'passkey_register', result: 'success', level: 4, session: session.id },
        meta,
      );
      return { credentialId: passkey.id };
    },

    async passkeyAuthenticationOptions(token) {
      const session = await resolveSession(token);
      const record = await store.load(session.userId);
      if (record.passkeys.length === 0) {
        throw notFound('No passkey is registered yet: register one in Settings → Passkeys in the web app.');
      }
      const challenge = await sessions.issueChallenge(session, 'authenticate');
      return authenticationOptions({
        rp: deps.webauthn,
        challenge,
        prfSalt: record.prfSalt,
        passkeys: record.passkeys,
      });
    },

    async openerFor(userId, levels, factors, meta) {
      const wanted = [...new Set(levels)].sort((a, b) => a - b);
      if (!wanted.every(isSecurityLevel)) throw validationError('Security level must be 1 to 4.', { field: 'level' });
      if (wanted.every((level) => level === 1)) return service.channelOpener(userId);
      const known = await keyring.exists(userId);
      if (wanted.includes(4)) {
        const error = securityError(
          'biometric_failed',
          'Ultra-secret memories open only with your passkey: use the web app.',
          { level: 4 },
        );
        if (known)
          await auditAttempt(
            userId,
            { action: 'unlock_once', result: 'denied', reason: 'biometric_failed', level: 4 },
            meta,
          );
        throw error;
      }
      await assertNotLocked(userId, known, meta, 'unlock_once');
      const password = normalizeAttempt(factors.password);
      const top = wanted[wanted.length - 1] ?? 1;
      if (!known) {
        await reserveAttempt(userId, false, meta, 'unlock_once');
        await keyring.dummyVerify(password);
        throw securityError('authentication_failed', WRONG_CREDENTIALS);
      }
      const profile = await profileOf(userId);
      try {
        for (const level of wanted) checkAccess({ profile, level, factors, now: now() });
        if (wanted.includes(3)) await requireTotpEnrolled(userId);
      } catch (error) {
        if (isMemvaultError(error, 'SECURITY_ERROR')) {
          await auditAttempt(
            userId,
            { action: 'unlock_once', result: 'denied', reason: error.reason ?? '', level: top },
            meta,
            profile.timezone,
          );
        }
        throw error;
      }
      const reservation = await reserveAttempt(userId, true, meta, 'unlock_once', top);
      let keys: Map<SecurityLevel, Uint8Array> | null;
      let totp: 'ok' | 'wrong' | 'replayed';
      try {
        [keys, totp] = await Promise.all([
          keyring.unwrapMany(userId, wanted, { password }).catch((error: unknown) => {
            if (isReason(error, 'authentication_failed')) return null;
            throw error;
          }),
          wanted.includes(3) ? spendTotp(userId, factors.totp) : Promise.resolve('ok' as const),
        ]);
      } catch (error) {
        await reservation.refund();
        throw error;
      }
      if (!keys || totp !== 'ok') {
        zero(keys);
        await auditAttempt(
          userId,
          { action: 'unlock_once', result: 'failure', reason: failureReason(totp), level: top },
          meta,
          profile.timezone,
        );
        throw securityError(
          'authentication_failed',
          wanted.includes(3)
            ? 'The password or the authenticator code is wrong (each code works once).'
            : 'The password is wrong.',
        );
      }
      try {
        await reservation.succeed();
        await auditAttempt(userId, { action: 'unlock_once', result: 'success', level: top }, meta, profile.timezone);
        return makeOpener(userId, keys);
      } finally {
        zero(keys);
      }
    },

    async channelOpener(userId): Promise<EntryOpener> {
      const keys = await keyring.unwrapMany(userId, [1], {});
      try {
        return makeOpener(userId, keys);
      } finally {
        zero(keys);
      }
    },

    endSessions(userId) {
      return sessions.endAll(userId);
    },

    async sessionKey(token, level) {
      const session = await resolveSession(token);
      requireLevel(session, level, 'A token with this level');
      const held = session.levels.get(level);
      if (!held) throw securityError('insufficient_permissions', `Level ${level} is locked.`, { level });
      return { userId: session.userId, key: Uint8Array.from(held.key) };
    },

    async revokeSessions(userId, meta = {}) {
      if (!(await keyring.exists(userId))) throw notFound('No such person: nothing to sign out.');
      await revokeSessions(userId);
      await auditAttempt(userId, { action: 'sign_out_everywhere', result: 'success' }, meta);
    },

    sweep() {
      return sessions.sweep();
    },

    async close() {
      sessions.close();
      await sessionStore.close();
    },

    sessionStore,
  };

  // unlock and lock hand their session to the caller, who releases it (AuthenticatedSession); when they fail, the
  // sessions they resolved are released here.
  for (const name of ['unlock', 'lock'] as const) {
    const inner = (service[name] as (...args: unknown[]) => Promise<unknown>).bind(service);
    (service as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      const held: Session[] = [];
      return callScope.run(held, async () => {
        try {
          return await inner(...args);
        } catch (error) {
          for (const session of held) await sessions.release(session);
          throw error;
        }
      });
    };
  }
  for (const name of [
    'signOutEverywhere',
    'totpBegin',
    'totpConfirm',
    'passkeyRegistrationOptions',
    'passkeyRegister',
    'passkeyAuthenticationOptions',
  ] as const) {
    (service as unknown as Record<string, unknown>)[name] = released(
      (service[name] as (...args: unknown[]) => Promise<unknown>).bind(service),
    );
  }

  function requirePasskeyRights(session: Session, record: AuthRecord): void {
    requireLevel(session, 2, 'Adding a passkey');
    // With a passkey already guarding level 4, a password alone must not be enough to add another.
    if (record.passkeys.length > 0) requireLevel(session, 4, 'Adding another passkey');
  }

  /** Level 4: the passkey assertion (user verification required), then the password (and PRF) unwrap. */
  async function unlockWithPasskey(
    session: Session,
    password: string,
    assertion: unknown,
  ): Promise<Map<SecurityLevel, Uint8Array>> {
    const userId = session.userId;
    const challenge = await sessions.takeChallenge(session, 'authenticate');
    if (!challenge) {
      throw securityError('biometric_failed', 'The passkey check timed out or was already used; start it again.', {
        level: 4,
      });
    }
    const record = await store.load(userId);
    const { passkey, newCounter, prf } = await verifyAssertion({
      rp: deps.webauthn,
      response: assertion,
      challenge,
      passkeys: record.passkeys,
      webauthnUserId: record.webauthnUserId,
    });
    await store.update(userId, (r) => {
      const stored = r.passkeys.find((p) => p.id === passkey.id);
      if (stored) {
        stored.counter = Math.max(stored.counter, newCounter);
        stored.lastUsedAt = now().toISOString();
      }
    });
    try {
      const prfEnrolled = await keyring.prfEnrolled(userId);
      if (prfEnrolled && (passkey.id !== record.prfCredentialId || !prf)) {
        throw securityError(
          'biometric_failed',
          'Use the passkey you set up for Ultra-secret memories, in a browser that supports passkey PRF.',
          { level: 4 },
        );
      }
      const keys = await keyring.unwrapMany(userId, [4], { password, ...(prfEnrolled && prf ? { prf } : {}) });
      if (!prfEnrolled && prf && passkey.prf && record.prfCredentialId === null) {
        // First unlock with a PRF-capable passkey whose registration carried no PRF output: enrol it now.
        await keyring.enrollPrf(userId, password, prf).then(
          () =>
            store.update(userId, (r) => {
              r.prfCredentialId = passkey.id;
            }),
          (error: unknown) => {
            if (!isMemvaultError(error, 'CONFLICT')) throw error;
          },
        );
      }
      return keys;
    } finally {
      prf?.fill(0);
    }
  }

  return service;
}

/**
 * The registration body may carry the password next to the credential (`{ ...credential, password }`): it is
 * needed once to mix the passkey's PRF output into level 4's wrapping, and never kept.
 */
function splitPassword(response: unknown): { credential: unknown; password: string | undefined } {
  if (typeof response !== 'object' || response === null || !('password' in response)) {
    return { credential: response, password: undefined };
  }
  const { password, ...credential } = response as Record<string, unknown>;
  return { credential, password: typeof password === 'string' ? password : undefined };
}

function errorCode(error: unknown): string {
  return isMemvaultError(error) ? error.code : error instanceof Error ? error.name : 'unknown';
}
