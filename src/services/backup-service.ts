import type { UserId } from '../core/entry.js';
import { isMemvaultError } from '../core/errors.js';
import type { BackupListing, BackupStore, BackupSummary, RecoveryReport } from '../ports/backup.js';
import type { Logger } from '../ports/logger.js';
import type { EntryOpener } from '../ports/sealer.js';
import type { SearchIndex } from '../ports/search.js';
import type { AuditLog } from '../ports/security.js';
import type { DamagedEntry, Vault } from '../ports/vault.js';
import { DEFAULT_RETENTION, type RetentionPolicy, retained } from './backup-retention.js';

export interface BackupServiceDeps {
  readonly store: BackupStore;
  readonly vault: Vault;
  readonly audit: AuditLog;
  readonly search: SearchIndex;
  /** Loads the person's keyring and checks its MAC; throws when it is unusable. */
  readonly checkKeyring: (userId: UserId) => Promise<void>;
  /** What the operator may open (level 1, and 2 for a person without a password). */
  readonly operatorOpener: (userId: UserId) => Promise<EntryOpener>;
  /** Ends the person's sessions (in every process): they hold private keys of a keyring a restore replaced. */
  readonly endSessions?: (userId: UserId) => Promise<void>;
  readonly logger: Logger;
}

/** One finding of `doctor`: what was checked, whether it is sound, and what was done about it. */
export interface DoctorFinding {
  readonly check: 'restores' | 'entries' | 'recovery' | 'keyring' | 'audit' | 'index';
  readonly ok: boolean;
  readonly message: string;
  readonly fixed?: string;
  readonly damaged?: readonly DamagedEntry[];
}

export interface DoctorReport {
  readonly userId: UserId | null;
  readonly ok: boolean;
  readonly findings: readonly DoctorFinding[];
}

export interface BackupService {
  create(userId: UserId, options?: { readonly out?: string }): Promise<BackupSummary>;
  /** Every person, one after the other; a failure for one is reported and the others still run. */
  createAll(): Promise<Array<{ userId: UserId; backup?: BackupSummary; error?: string }>>;
  list(userId?: UserId): Promise<BackupListing[]>;
  verify(file: string): Promise<BackupSummary>;
  restore(file: string, options?: { readonly userId?: UserId }): Promise<BackupSummary>;
  recover(): Promise<RecoveryReport>;
  doctor(options?: { readonly userId?: UserId; readonly repair?: boolean }): Promise<DoctorReport[]>;
  /** Deletes backups in the backup directory that `policy` does not keep; one person's, or everyone's. */
  prune(options?: { readonly userId?: UserId; readonly policy?: RetentionPolicy }): Promise<PruneResult>;
  /**
   * Automatic recovery on read: damaged entries a read met are replaced by intact copies from the newest backup
   * holding one that `opener` (the reader's) proves intact; audited as `read.recover`. Returns the ids replaced.
   */
  heal(userId: UserId, damaged: readonly DamagedEntry[], opener: EntryOpener): Promise<string[]>;
  /** What the scheduler runs: a backup of every person, then pruning. */
  scheduled(policy?: RetentionPolicy): Promise<{ made: number; failed: number; removed: number }>;
}

export interface PruneResult {
  readonly kept: number;
  readonly removed: string[];
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function createBackupService(deps: BackupServiceDeps): BackupService {
  const { store, vault, audit, search, logger } = deps;

  /** Per person: ids no backup up to `newest` could replace (see `heal`). */
  const hopeless = new Map<UserId, { newest: string; ids: Set<string> }>();

  async function create(userId: UserId, options: { readonly out?: string } = {}): Promise<BackupSummary> {
    const made = await store.create(userId, options);
    await audit.append(userId, { action: 'backup.create', result: 'success' });
    logger.info({ userId, file: made.file, bytes: made.bytes }, 'backup written');
    return made;
  }

  /**
   * Replaces the damaged entries named in `damaged` by intact copies from backups, newest backup first. A copy
   * counts only when it proves intact (checksum, or it opens with `opener`), so levels `opener` cannot open stay
   * as they are. Returns the ids replaced and how many backups gave some.
   */
  async function replaceFromBackups(
    userId: UserId,
    damaged: readonly DamagedEntry[],
    opener: EntryOpener,
  ): Promise<{ recovered: string[]; backups: number; total: number } | null> {
    const pending = new Map<DamagedEntry['category'], Set<string>>();
    for (const d of damaged) {
      if (d.id === null) continue;
      const set = pending.get(d.category) ?? new Set<string>();
      set.add(d.id);
      pending.set(d.category, set);
    }
    const total = new Set(damaged.flatMap((d) => (d.id === null ? [] : [d.id]))).size;
    const recover = vault.recoverDamaged?.bind(vault);
    if (!recover) return null;
    const recovered = new Set<string>();
    let backups = 0;
    for (const backup of await store.list(userId)) {
      if (recovered.size === total) break;
      let files: ReadonlyMap<string, Uint8Array>;
      try {
        files = (await store.contents(backup.file)).files;
      } catch (error) {
        logger.warn({ userId, code: isMemvaultError(error) ? error.code : 'INTERNAL' }, 'unusable backup skipped');
        continue;
      }
      let fromThis = 0;
      for (const [category, ids] of pending) {
        if (ids.size === 0) continue;
        const copy = files.get(`${category}.${userId}.md`);
        if (!copy) continue;
        for (const id of await recover(userId, category, Buffer.from(copy).toString('utf8'), opener)) {
          if (!ids.delete(id)) continue;
          recovered.add(id);
          fromThis++;
          // The same id may have been asked for under several categories (a read knows only the id).
          for (const other of pending.values()) other.delete(id);
        }
      }
      if (fromThis > 0) backups++;
    }
    return { recovered: [...recovered], backups, total };
  }

  /** doctor --repair: damaged entries replaced from backups with what the operator may open. */
  async function recoverEntries(userId: UserId, damaged: readonly DamagedEntry[]): Promise<DoctorFinding> {
    const opener = await deps.operatorOpener(userId);
    const result = await replaceFromBackups(userId, damaged, opener);
    if (!result) {
      return { check: 'recovery', ok: false, message: 'This vault cannot replace single entries; restore a backup.' };
    }
    const { recovered, backups, total } = result;
    if (recovered.length > 0) await audit.append(userId, { action: 'doctor.recover', result: 'success' });
    const left = total - recovered.length;
    return {
      check: 'recovery',
      ok: left === 0,
      message:
        left === 0
          ? `All ${total} damaged entries were replaced by intact copies from backups.`
          : `${left} of ${total} damaged entries have no intact copy this operator can prove (no backup holds one, or its level is locked: run doctor with the person's factors, or restore a backup).`,
      ...(recovered.length > 0 ? { fixed: `recovered ${recovered.length} from ${backups} backup(s)` } : {}),
    };
  }

  async function doctorOne(userId: UserId, repair: boolean): Promise<DoctorReport> {
    const findings: DoctorFinding[] = [];
    try {
      await deps.checkKeyring(userId);
      findings.push({ check: 'keyring', ok: true, message: 'The keyring is intact (MAC verified).' });
    } catch (error) {
      findings.push({
        check: 'keyring',
        ok: false,
        message: `The keyring is unusable: ${messageOf(error)} Restore it with \`memvault restore\` from a backup.`,
      });
    }
    try {
      const report = await vault.check(userId, await deps.operatorOpener(userId));
      findings.push({
        check: 'entries',
        ok: report.damaged.length === 0,
        message:
          report.damaged.length === 0
            ? `Every file parses: ${report.intact} entries intact, ${report.locked} at locked levels not opened.`
            : `${report.damaged.length} damaged entr${report.damaged.length === 1 ? 'y' : 'ies'} (${report.intact} intact); they are kept byte for byte and can be recovered from a backup.`,
        ...(report.damaged.length > 0 ? { damaged: report.damaged } : {}),
      });
    } catch (error) {
      findings.push({ check: 'entries', ok: false, message: `The entries could not be checked: ${messageOf(error)}` });
    }
    const damaged = findings.find((f) => f.check === 'entries')?.damaged ?? [];
    if (repair && damaged.some((d) => d.id !== null)) {
      const recovery = await recoverEntries(userId, damaged);
      findings.push(recovery);
      const entries = findings.findIndex((f) => f.check === 'entries');
      const found = findings[entries];
      // Fixed when every damaged entry had an id and an intact copy.
      if (found && recovery.ok && damaged.every((d) => d.id !== null)) {
        findings[entries] = { ...found, ok: true, fixed: 'replaced from backups (see recovery)' };
      }
    }
    const chain = await audit.verify(userId);
    findings.push(
      chain.ok
        ? { check: 'audit', ok: true, message: `The audit chain is intact: ${chain.records} records.` }
        : {
            check: 'audit',
            ok: false,
            message: `The audit chain fails at record ${chain.badSeq} (${chain.reason}); it is evidence and is never rewritten.`,
          },
    );
    if (repair) {
      try {
        const rebuilt = await search.rebuild(userId, await deps.operatorOpener(userId));
        findings.push({
          check: 'index',
          ok: true,
          message: 'The search index was rebuilt from the vault.',
          fixed: `rebuilt (${rebuilt.entries} entries)`,
        });
      } catch (error) {
        findings.push({
          check: 'index',
          ok: false,
          message: `The search index could not be rebuilt: ${messageOf(error)}`,
        });
      }
    } else {
      findings.push({
        check: 'index',
        ok: true,
        message:
          'The search index is derived data, checked against the vault revision at every search; --repair rebuilds it.',
      });
    }
    if (repair) await audit.append(userId, { action: 'doctor.repair', result: 'success' });
    return { userId, ok: findings.every((f) => f.ok), findings };
  }

  async function prune(
    options: { readonly userId?: UserId; readonly policy?: RetentionPolicy } = {},
  ): Promise<PruneResult> {
    const policy = options.policy ?? DEFAULT_RETENTION;
    const all = await store.list(options.userId);
    const removed: string[] = [];
    let kept = 0;
    for (const person of new Set(all.map((b) => b.userId))) {
      const mine = all.filter((b) => b.userId === person);
      const keep = retained(mine, policy);
      kept += keep.size;
      for (const b of mine) {
        if (keep.has(b.file)) continue;
        await store.remove(b.file);
        removed.push(b.file);
      }
    }
    if (removed.length > 0) logger.info({ removed: removed.length, kept }, 'old backups pruned');
    return { kept, removed };
  }

  async function createAll(): Promise<Array<{ userId: UserId; backup?: BackupSummary; error?: string }>> {
    const out: Array<{ userId: UserId; backup?: BackupSummary; error?: string }> = [];
    for (const userId of await vault.listUsers()) {
      try {
        out.push({ userId, backup: await create(userId) });
      } catch (error) {
        logger.warn({ userId, code: isMemvaultError(error) ? error.code : 'INTERNAL' }, 'backup failed');
        out.push({ userId, error: messageOf(error) });
      }
    }
    return out;
  }

  return {
    create,
    createAll,
    prune,
    async heal(userId, damaged, opener) {
      // Each try decrypts the person's backups: an id no backup could replace is not tried again until a newer
      // backup exists (or the process restarts), so a read that keeps meeting it stays cheap.
      const newest = (await store.list(userId))[0]?.file ?? '';
      let tried = hopeless.get(userId);
      if (!tried || tried.newest !== newest) {
        tried = { newest, ids: new Set() };
        hopeless.set(userId, tried);
      }
      const known = tried.ids;
      const worth = damaged.filter((d) => d.id !== null && !known.has(d.id));
      if (worth.length === 0) return [];
      const result = await replaceFromBackups(userId, worth, opener);
      for (const d of worth) if (d.id !== null && !result?.recovered.includes(d.id)) known.add(d.id);
      if (!result || result.recovered.length === 0) return [];
      await audit.append(userId, { action: 'read.recover', result: 'success' });
      logger.warn(
        { userId, recovered: result.recovered.length, asked: result.total, backups: result.backups },
        'damaged entries met by a read were replaced from backups',
      );
      return result.recovered;
    },
    async scheduled(policy = DEFAULT_RETENTION) {
      const results = await createAll();
      const failed = results.filter((r) => r.error !== undefined).length;
      // Pruning only after this round's backups exist, so a failed round never thins out the old ones first.
      const { removed } = await prune({ policy });
      return { made: results.length - failed, failed, removed: removed.length };
    },
    list: (userId) => store.list(userId),
    verify: (file) => store.verify(file),
    async restore(file, options = {}) {
      const restored = await store.restore(file, options);
      // The index on disk was not carried over (derived data); whatever this process holds is stale.
      search.forget(restored.userId);
      await deps.endSessions?.(restored.userId);
      await audit.append(restored.userId, { action: 'backup.restore', result: 'success' });
      logger.info({ userId: restored.userId, revision: restored.revision }, 'backup restored');
      return restored;
    },
    recover: () => store.recover(),
    async doctor(options = {}) {
      const recovered = options.repair ? await store.recover() : null;
      const people = options.userId ? [options.userId] : await vault.listUsers();
      const reports: DoctorReport[] = [];
      for (const userId of people) reports.push(await doctorOne(userId, options.repair === true));
      if (recovered && recovered.finished.length + recovered.undone.length + recovered.removedStaging > 0) {
        reports.unshift({
          userId: null,
          ok: true,
          findings: [
            {
              check: 'restores',
              ok: true,
              message: 'Interrupted restores were found.',
              fixed: `finished ${recovered.finished.length}, undone ${recovered.undone.length}, staging folders removed ${recovered.removedStaging}`,
            },
          ],
        });
      }
      return reports;
    },
  };
}
