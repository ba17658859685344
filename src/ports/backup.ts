import type { Category, SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';

/** What a backup's manifest says (docs/backup.md), as a verification or a restore reports it. */
export interface BackupSummary {
  readonly file: string;
  readonly version: number;
  readonly userId: UserId;
  readonly createdAt: string;
  /** SHA-256 over the category files: equal revisions hold the same entries. */
  readonly revision: string;
  readonly files: number;
  /** Bytes of the person's files inside (before compression). */
  readonly bytes: number;
  readonly counts: Readonly<Record<Category, number>>;
  readonly keyring: {
    readonly generation: number;
    readonly fingerprints: Readonly<Partial<Record<`${SecurityLevel}`, string>>>;
  };
}

/** A backup file found on disk, known from its name and size alone (nothing decrypted). */
export interface BackupListing {
  readonly file: string;
  readonly userId: UserId;
  readonly createdAt: string;
  readonly size: number;
}

/** What was left by interrupted restores and put right. */
export interface RecoveryReport {
  /** Restores finished (the new state was complete) or undone (the old state was still in place). */
  readonly finished: UserId[];
  readonly undone: UserId[];
  /** Staging folders of restores that died before they began to swap. */
  readonly removedStaging: number;
}

/** Encrypted per-person backups and their restore (DESIGN §8). */
export interface BackupStore {
  /** A consistent snapshot of one person, written to `out` or to the backup directory. */
  create(userId: UserId, options?: { readonly out?: string }): Promise<BackupSummary>;
  /** Backups in the backup directory, newest first; one person's when `userId` is given. */
  list(userId?: UserId): Promise<BackupListing[]>;
  /** Decrypts and checks everything without restoring. @throws DATA_CORRUPTION / VALIDATION_ERROR with details.problem. */
  verify(file: string): Promise<BackupSummary>;
  /**
   * Verifies `file`, then replaces the person's folder with its content atomically. The current audit log is
   * kept (a restore never rewrites history). `userId`, when given, must be the backup's owner.
   */
  restore(file: string, options?: { readonly userId?: UserId }): Promise<BackupSummary>;
  /** Verifies `file` like `verify` and returns its files by name (for recovering single entries). */
  contents(file: string): Promise<{ readonly summary: BackupSummary; readonly files: ReadonlyMap<string, Uint8Array> }>;
  /** Puts right restores interrupted by a crash: afterwards every folder is wholly old or wholly new. */
  recover(): Promise<RecoveryReport>;
  /**
   * Erases the person's folder (every file: vault, keyring, auth, audit, model, index, insights) — renamed aside
   * under their locks, so the person is gone at one instant, then removed — and, with `backups`, their folder in
   * the backup directory. Returns how many backup files went. @throws NOT_FOUND for an unknown person.
   */
  erase(userId: UserId, options: { readonly backups: boolean }): Promise<{ readonly backups: number }>;
  /** Deletes one backup file from the backup directory (retention). */
  remove(file: string): Promise<void>;
}
