import type { SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import type { EntryOpener, EntrySealer } from './sealer.js';

/** Who is asking, as the edge saw it. Logged in the audit log; never contains secrets. */
export interface RequestMeta {
  readonly ip?: string;
  readonly userAgent?: string;
  /** A stable device id from the client (cookie or header), if any. */
  readonly deviceId?: string;
  readonly channel?: string;
}

/** The factors a caller presents to unlock a level (DESIGN §5 table). */
export interface Factors {
  readonly password?: string;
  /** RFC 6238 code. */
  readonly totp?: string;
  /** A WebAuthn authentication response (JSON form) answering the session's current challenge. */
  readonly passkey?: unknown;
}

/** A live, server-side session. The token itself is never stored: only its hash. */
export interface SessionView {
  /** Public, non-secret session id (safe to log). */
  readonly id: string;
  readonly userId: UserId;
  readonly createdAt: string;
  /** Levels whose private keys this session holds now (always includes 1 once signed in). */
  readonly unlocked: readonly SecurityLevel[];
  /** When each unlocked level expires by idleness (ISO). */
  readonly expires: Readonly<Partial<Record<SecurityLevel, string>>>;
  readonly totpEnrolled: boolean;
  readonly passkeys: number;
}

export interface AuthenticatedSession {
  readonly session: SessionView;
  /** Opens exactly the unlocked levels. */
  readonly opener: EntryOpener;
  /**
   * Ends this request's hold on the session: its keys are zeroed and the opener opens nothing after. The edge
   * calls it when the request ends (the session itself lives on in the store).
   */
  readonly release?: () => Promise<void>;
}

export interface TotpEnrollment {
  readonly secret: string;
  readonly otpauthUri: string;
  /** SVG of the QR code of `otpauthUri`. */
  readonly qrSvg: string;
}

/**
 * Authentication, sessions and access control (seed: ConfidentialManager.verify_access_permissions).
 * Every attempt is written to the user's audit log. Denials throw SECURITY_ERROR with a typed `reason`.
 */
export interface AuthService {
  /**
   * Creates the user's keyring and sets the password (policy-checked). `about.name` lets the policy refuse a
   * password containing the person's name when the profile does not exist yet (sign-up enrols first).
   */
  enroll(userId: UserId, password: string | null, about?: { readonly name?: string | null }): Promise<void>;
  hasPassword(userId: UserId): Promise<boolean>;
  /** True once the person's keyring exists (sign-up finished its last step). */
  isEnrolled(userId: UserId): Promise<boolean>;
  /**
   * Applies the password policy without storing anything (sign-up checks it before creating any file).
   * @throws VALIDATION_ERROR naming what is wrong with the password (never echoing it).
   */
  checkPassword(password: string, about: { readonly userId: UserId; readonly name?: string | null }): void;
  changePassword(userId: UserId, oldPassword: string, newPassword: string, meta: RequestMeta): Promise<void>;

  /** Password sign-in: returns a new bearer token (shown once) and a session with levels 1 and 2 unlocked. */
  signIn(userId: UserId, password: string, meta: RequestMeta): Promise<{ token: string } & AuthenticatedSession>;
  /** @throws SECURITY_ERROR session_expired | authentication_failed */
  resolve(token: string, meta: RequestMeta): Promise<AuthenticatedSession>;
  /** Unlocks a level inside the session with that level's factors. */
  unlock(token: string, level: SecurityLevel, factors: Factors, meta: RequestMeta): Promise<AuthenticatedSession>;
  /** Locks one level, or every level above 1 when `level` is omitted; drops their keys. */
  lock(token: string, level?: SecurityLevel): Promise<AuthenticatedSession>;
  signOut(token: string): Promise<void>;
  /**
   * Signs the person out of every session, in this process and every other one: the credential epoch moves on
   * and each session made under the old one is refused wherever its token is next used.
   */
  signOutEverywhere(token: string, meta: RequestMeta): Promise<void>;
  /**
   * The same for the local operator (the CLI, which holds the master key) or the composition root, without a
   * session: for a lost device, or after a key rotation in another process. Audited as `sign_out_everywhere`.
   */
  revokeSessions(userId: UserId, meta?: RequestMeta): Promise<void>;

  totpBegin(token: string): Promise<TotpEnrollment>;
  totpConfirm(token: string, code: string, meta: RequestMeta): Promise<void>;

  /** WebAuthn registration (needs level 2 unlocked). Returns PublicKeyCredentialCreationOptionsJSON. */
  passkeyRegistrationOptions(token: string): Promise<unknown>;
  passkeyRegister(token: string, response: unknown, meta: RequestMeta): Promise<{ credentialId: string }>;
  /** Options for an assertion that unlocks level 4. Returns PublicKeyCredentialRequestOptionsJSON. */
  passkeyAuthenticationOptions(token: string): Promise<unknown>;

  /**
   * One-shot unlock for a single CLI command: an opener for the levels the factors open, without a session.
   * Level 1 needs nothing beyond the local operator; levels 2+ need their factors.
   */
  openerFor(
    userId: UserId,
    levels: readonly SecurityLevel[],
    factors: Factors,
    meta: RequestMeta,
  ): Promise<EntryOpener>;
  /** An opener for level 1 only, for a verified channel identity (Telegram, SMS…) or the local CLI. */
  channelOpener(userId: UserId): Promise<EntryOpener>;

  /** Seals new entries to the user's public keys. */
  readonly sealer: EntrySealer;
}

export interface AuditRecord {
  readonly seq: number;
  readonly at: string;
  readonly userId: UserId;
  readonly action: string;
  readonly result: 'success' | 'failure' | 'denied';
  readonly reason?: string;
  readonly level?: SecurityLevel;
  readonly ip?: string;
  readonly userAgent?: string;
  readonly device?: string;
  readonly session?: string;
  /** The client that acted ("mcp:stdio", a token's name, "web"…), for reads and denials of memories. */
  readonly client?: string;
  readonly risk: number;
  readonly prev: string;
  readonly mac: string;
}

export interface AuditLog {
  append(
    userId: UserId,
    record: Omit<AuditRecord, 'seq' | 'at' | 'userId' | 'prev' | 'mac' | 'risk'> & { risk?: number },
  ): Promise<AuditRecord>;
  list(userId: UserId, opts?: { limit?: number; before?: number }): Promise<AuditRecord[]>;
  /**
   * ok=false names the first bad record (its sequence number and why). `tornTail` says the log ends in the
   * fragment of an append that crashed before it finished (never acknowledged; the next append removes it).
   */
  verify(
    userId: UserId,
  ): Promise<{ ok: true; records: number; tornTail?: boolean } | { ok: false; badSeq: number; reason: string }>;
}
