import type { Command } from 'commander';
import type { UserId } from '../../core/entry.js';
import { MemvaultError, validationError } from '../../core/errors.js';
import { normalizeUser } from '../user-id.js';
import type { BackupSummary } from '../../ports/backup.js';
import { writeJson, writeLine } from '../io.js';
import { common, parseCount } from '../options.js';
import type { CliRuntime } from '../runtime.js';

interface Opts {
  dataDir?: string;
  json?: boolean;
}

function describe(b: BackupSummary): string {
  const entries = Object.values(b.counts).reduce((n, c) => n + c, 0);
  return `${b.userId}: ${entries} memories in ${b.files} files (${b.bytes} bytes), taken ${b.createdAt}, revision ${b.revision.slice(0, 12)}, keyring generation ${b.keyring.generation}`;
}

export function registerBackup(program: Command, runtime: CliRuntime): void {
  const backup = program.command('backup').description('encrypted per-person backups (docs/backup.md)');

  common(
    backup
      .command('create')
      .description("a consistent, encrypted snapshot of a person's vault (entries stay sealed inside)")
      .option('--user <phone>', 'whose vault')
      .option('--all', 'every person, each to its own file in the backup directory')
      .option('--out <file>', 'write to this file (ending in .mvbackup) instead of the backup directory'),
  ).action(async (opts: Opts & { user?: string; all?: boolean; out?: string }) => {
    if ((opts.user === undefined) === (opts.all !== true))
      throw validationError('Give either --user <phone> or --all.');
    if (opts.all && opts.out !== undefined)
      throw validationError('--out names one file; it cannot be used with --all.');
    const app = await runtime.open(opts);
    try {
      if (opts.all) {
        const results = await app.backups.createAll();
        if (opts.json) writeJson(runtime.stdout, { backups: results });
        else
          for (const r of results)
            writeLine(
              runtime.stdout,
              r.backup ? `${r.backup.file}\n  ${describe(r.backup)}` : `${r.userId}: FAILED: ${r.error}`,
            );
        const failed = results.filter((r) => r.error !== undefined).length;
        if (failed > 0) throw new MemvaultError('STORAGE_ERROR', `${failed} of ${results.length} backups failed.`);
        return;
      }
      const made = await app.backups.create(await normalizeUser(opts.user ?? ''), opts.out ? { out: opts.out } : {});
      if (opts.json) writeJson(runtime.stdout, { backup: made });
      else writeLine(runtime.stdout, `Wrote ${made.file}\n  ${describe(made)}`);
    } finally {
      await app.close();
    }
  });

  common(
    backup
      .command('verify')
      .description('decrypt and check a backup completely (encryption, manifest, every file) without restoring it')
      .argument('<file>', 'the backup file'),
  ).action(async (file: string, opts: Opts) => {
    const app = await runtime.open(opts);
    try {
      const checked = await app.backups.verify(file);
      if (opts.json) writeJson(runtime.stdout, { ok: true, backup: checked });
      else writeLine(runtime.stdout, `OK ${checked.file}\n  ${describe(checked)}`);
    } finally {
      await app.close();
    }
  });

  common(
    backup
      .command('list')
      .description('backups in the backup directory, newest first')
      .option('--user <phone>', "only this person's"),
  ).action(async (opts: Opts & { user?: string }) => {
    const userId: UserId | undefined = opts.user === undefined ? undefined : await normalizeUser(opts.user);
    const app = await runtime.open(opts);
    try {
      const found = await app.backups.list(userId);
      if (opts.json) writeJson(runtime.stdout, { backups: found });
      else if (found.length === 0) writeLine(runtime.stdout, 'No backups.');
      else for (const b of found) writeLine(runtime.stdout, `${b.createdAt}  ${b.userId}  ${b.size} bytes  ${b.file}`);
    } finally {
      await app.close();
    }
  });

  common(
    backup
      .command('prune')
      .description(
        'delete backups the retention policy does not keep: the newest of each of the last 7 days, 4 weeks, 12 months',
      )
      .option('--user <phone>', "only this person's")
      .option('--keep-daily <n>', 'days to keep', '7')
      .option('--keep-weekly <n>', 'ISO weeks to keep', '4')
      .option('--keep-monthly <n>', 'months to keep', '12'),
  ).action(async (opts: Opts & { user?: string; keepDaily: string; keepWeekly: string; keepMonthly: string }) => {
    const userId = opts.user === undefined ? undefined : await normalizeUser(opts.user);
    const policy = {
      daily: parseCount(opts.keepDaily, '--keep-daily', 1000),
      weekly: parseCount(opts.keepWeekly, '--keep-weekly', 1000),
      monthly: parseCount(opts.keepMonthly, '--keep-monthly', 1000),
    };
    const app = await runtime.open(opts);
    try {
      const result = await app.backups.prune({ ...(userId ? { userId } : {}), policy });
      if (opts.json) writeJson(runtime.stdout, result);
      else writeLine(runtime.stdout, `Kept ${result.kept} backups; deleted ${result.removed.length}.`);
    } finally {
      await app.close();
    }
  });

  common(
    program
      .command('restore')
      .description(
        "replace a person's vault with a backup, atomically, after checking it completely (the audit log is kept)",
      )
      .argument('<file>', 'the backup file')
      .option('--user <phone>', 'refuse unless the backup belongs to this person'),
  ).action(async (file: string, opts: Opts & { user?: string }) => {
    const userId = opts.user === undefined ? undefined : await normalizeUser(opts.user);
    const app = await runtime.open(opts);
    try {
      const restored = await app.backups.restore(file, userId ? { userId } : {});
      if (opts.json) writeJson(runtime.stdout, { restored: true, backup: restored });
      else writeLine(runtime.stdout, `Restored ${describe(restored)}`);
    } finally {
      await app.close();
    }
  });

  common(
    program
      .command('doctor')
      .description(
        'check every file, keyring and audit chain; with --repair, finish interrupted restores, recover damaged entries from backups and rebuild indexes',
      )
      .option('--user <phone>', 'only this person')
      .option('--repair', 'fix what can be fixed safely'),
  ).action(async (opts: Opts & { user?: string; repair?: boolean }) => {
    const userId = opts.user === undefined ? undefined : await normalizeUser(opts.user);
    const app = await runtime.open(opts);
    try {
      const reports = await app.backups.doctor({ ...(userId ? { userId } : {}), repair: opts.repair === true });
      if (opts.json) writeJson(runtime.stdout, { ok: reports.every((r) => r.ok), reports });
      else
        for (const r of reports) {
          writeLine(runtime.stdout, `${r.userId ?? 'instance'}: ${r.ok ? 'OK' : 'PROBLEMS FOUND'}`);
          for (const f of r.findings) {
            writeLine(
              runtime.stdout,
              `  [${f.ok ? 'ok' : 'BAD'}] ${f.check}: ${f.message}${f.fixed ? ` Fixed: ${f.fixed}.` : ''}`,
            );
            for (const d of f.damaged ?? [])
              writeLine(runtime.stdout, `      damaged ${d.category} ${d.id ?? '(no id)'}: ${d.reason}`);
          }
        }
      const bad = reports.filter((r) => !r.ok).length;
      if (bad > 0)
        throw new MemvaultError('DATA_CORRUPTION', `doctor found problems for ${bad} of ${reports.length} people.`);
    } finally {
      await app.close();
    }
  });
}
