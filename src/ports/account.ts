import type { UserId } from '../core/entry.js';

/** What happened to a whole account; an instance audit record names the person only by a keyed hash. */
export type InstanceAction = 'account.deleted' | 'account.recovered';

export interface InstanceAuditRecord {
  readonly seq: number;
  readonly at: string;
  readonly action: InstanceAction;
  /** Keyed hash of the person's id (see src/security/instance-audit.ts): names nobody without the master key. */
  readonly subject: string;
  readonly prev: string;
  readonly mac: string;
}

export type InstanceAuditVerdict =
  | { readonly ok: true; readonly records: number }
  | { readonly ok: false; readonly badSeq: number; readonly reason: string };

/** The instance-level audit log: hash-chained, MAC'd, and free of personal text. */
export interface InstanceAudit {
  append(action: InstanceAction, userId: UserId): Promise<InstanceAuditRecord>;
  /** The keyed hash a record names `userId` by (the operator's way to find a person's records). */
  subjectOf(userId: UserId): string;
  list(): Promise<InstanceAuditRecord[]>;
  verify(): Promise<InstanceAuditVerdict>;
}

/** What is known of a person's recovery kit without its code. */
export interface RecoveryKitStatus {
  readonly exists: boolean;
  readonly createdAt: string | null;
  /** The kit was made for keys the person no longer has (rotated, or a passkey enrolled since): make a new one. */
  readonly stale: boolean;
}

/**
 * Recovery kits (docs/backup.md, "Recovery kit"): a high-entropy code, shown once, that wraps the keys of levels
 * 2 and 3 (and level 4 only as its passkey still seals it), so a forgotten password can be replaced.
 */
export interface RecoveryKits {
  /** A new kit (replacing any earlier one); the password proves it is the person. Returns the code, once. */
  create(userId: UserId, password: string): Promise<{ readonly code: string; readonly createdAt: string }>;
  status(userId: UserId): Promise<RecoveryKitStatus>;
  /**
   * Replaces the password with `newPassword` using the kit the code opens, then destroys the kit (a code works
   * once), removes the TOTP enrolment and the lockout, and ends every session (credential epoch).
   * @throws SECURITY_ERROR authentication_failed for a wrong code; NOT_FOUND without a kit; CONFLICT for a stale kit.
   */
  recover(userId: UserId, code: string, newPassword: string): Promise<void>;
}
