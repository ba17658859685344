import type { InsightsService } from '../services/insights-service.js';
import type { Readable, Writable } from 'node:stream';
import type { UserId } from '../core/entry.js';
import type { ImportLedger } from '../ports/vault.js';
import type { Classification, ClassifyContext } from '../ports/classifier.js';
import type { ChannelHealth, ChannelKind } from '../ports/channels.js';
import type { EntryOpener } from '../ports/sealer.js';
import type { AuditLog, AuthService } from '../ports/security.js';
import type { TokenService } from '../ports/tokens.js';
import type { BackupService } from '../services/backup-service.js';
import type { ExportService } from '../services/export-service.js';
import type { AccountService } from '../services/account-service.js';
import type { RecoveryService } from '../services/recovery-service.js';
import type { InstanceAudit } from '../ports/account.js';
import type { MemoryService } from '../services/types.js';

/** What a command needs of a fully wired memvault (built by the composition root, src/app). */
export interface CliApp {
  readonly memory: MemoryService;
  readonly auth: AuthService;
  readonly audit: AuditLog;
  readonly backups: BackupService;
  readonly insights: InsightsService;
  /** Personal access tokens and OAuth grants. */
  readonly tokens: TokenService;
  /** Plain-text export of what a principal unlocked, and its import (docs/backup.md). */
  readonly exports: ExportService;
  /** Account deletion (docs/backup.md). */
  readonly account: AccountService;
  readonly instanceAudit: InstanceAudit;
  /** Recovery kits (docs/backup.md). */
  readonly recovery: RecoveryService;
  /** `memvault channels status`: each channel's configuration and reachability (never a secret). */
  readonly channels: { status(): Promise<Record<ChannelKind, ChannelHealth>> };
  /** New key pairs for every level and every entry re-sealed under them; returns the entries rewritten. */
  rotateKeys(userId: UserId, password: string): Promise<number>;
  /** Finishes an interrupted rotation (see src/app/container.ts); returns the entries rewritten. */
  finishRotation(userId: UserId, password?: string, options?: { discardUnopened?: boolean }): Promise<number>;
  /** Finishes an unfinished rotation when it can be done with what the command has; else warns how to. */
  resumeRotation(userId: UserId, password?: string): Promise<'none' | 'finished' | 'unfinished'>;
  /** Level 1, plus level 2 for a person without a password (see src/app/container.ts). */
  operatorOpener(userId: UserId): Promise<EntryOpener>;
  /** True when the person's vault exists. */
  hasUser(userId: UserId): Promise<boolean>;
  /** External ids already imported (ChatGPT and Claude exports import idempotently). */
  readonly imports: ImportLedger;
  close(): Promise<void>;
}

export interface GlobalOptions {
  readonly dataDir?: string;
}

/** The classifier alone: `memvault classify` needs no data directory and no master key. */
export interface CliClassifier {
  classify(text: string, ctx?: ClassifyContext): Promise<Classification>;
  close(): Promise<void>;
}

/**
 * Everything the CLI touches outside itself, injected so tests drive it in-process and the composition root
 * stays the only place that picks adapters.
 */
export interface CliRuntime {
  open(options: GlobalOptions): Promise<CliApp>;
  classifier(options: GlobalOptions & { userId?: UserId }): Promise<CliClassifier>;
  serve(options: GlobalOptions & { host?: string; port?: number; workers?: number }): Promise<void>;
  /** `userId` alone: level 1 as the local operator; `token`: what the personal access token reads (levels 1–2). */
  mcpStdio(options: GlobalOptions & { userId?: UserId; token?: string }): Promise<void>;
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
  readonly version: string;
  /** `memvault migrate`: copies the stores between a data dir and MEMVAULT_DATABASE_URL (src/app/store-migration.ts). */
  migrateStore?(options: GlobalOptions & { to: 'postgres' | 'files' }): Promise<{
    readonly direction: string;
    readonly people: number;
    readonly copied: number;
    readonly alreadyThere: number;
    readonly entries: number;
    readonly auditRecords: number;
    readonly documents?: number;
    readonly checksum: string;
  }>;
}
