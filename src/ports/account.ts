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
