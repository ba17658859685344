import type { Command } from 'commander';
import { MemvaultError, validationError } from '../../core/errors.js';
import { readPassword, writeJson, writeLine } from '../io.js';
import { common } from '../options.js';
import { withApp } from '../principal.js';
import type { CliRuntime } from '../runtime.js';
import { normalizeUser } from '../user-id.js';

interface DeleteOptions {
  user: string;
  passwordStdin?: boolean;
  yes?: boolean;
  dataDir?: string;
  json?: boolean;
}

/** `memvault user delete` and `memvault instance-audit`: erasing an account, and the log that records it. */
export function registerAccount(program: Command, runtime: CliRuntime): void {
  const user = program.commands.find((c) => c.name() === 'user') ?? program.command('user');
  common(
    user
      .command('delete')
      .description(
        'erase a person: every file of their vault, keyring, factors and audit log, their backups in the backup directory, and their sessions; recorded in the instance audit log. Stop `serve` first, or delete from the web app',
      )
      .requiredOption('--user <phone>', 'whom')
      .option('--password-stdin', "the person's password (required when they have one)")
      .option('--yes', 'for a person without a password: the operator confirms'),
  ).action(async (opts: DeleteOptions) => {
    const userId = await normalizeUser(opts.user);
    if ((opts.passwordStdin === true) === (opts.yes === true)) {
      throw validationError('Confirm with --password-stdin (the person has a password) or --yes (they have none).');
    }
    const password = opts.passwordStdin ? await readPassword(runtime.stdin) : null;
    const report = await withApp(runtime, opts, (app) =>
      app.account.deleteAccount(userId, password === null ? { operator: true } : { password }, {
        channel: 'cli',
        userAgent: `memvault-cli/${runtime.version}`,
      }),
    );
    if (opts.json) writeJson(runtime.stdout, report);
    else
      writeLine(
        runtime.stdout,
        `Deleted ${userId}: every file, ${report.backups} backup(s) and all sessions. Recorded in the instance audit log as ${report.subject}.`,
      );
  });

  const log = program
    .command('instance-audit')
    .description('the instance-level audit log: account deletions and recoveries, with no personal text');
  common(log.command('list').description('every record, oldest first')).action(
    async (opts: { dataDir?: string; json?: boolean }) => {
      const records = await withApp(runtime, opts, (app) => app.instanceAudit.list());
      if (opts.json) writeJson(runtime.stdout, { records });
      else if (records.length === 0) writeLine(runtime.stdout, 'No records.');
      else for (const r of records) writeLine(runtime.stdout, `${r.seq}  ${r.at}  ${r.action}  ${r.subject}`);
    },
  );
  common(log.command('verify').description("check the chain and every record's MAC")).action(
    async (opts: { dataDir?: string; json?: boolean }) => {
      const verdict = await withApp(runtime, opts, (app) => app.instanceAudit.verify());
      if (opts.json) writeJson(runtime.stdout, verdict);
      else
        writeLine(
          runtime.stdout,
          verdict.ok ? `OK: ${verdict.records} records.` : `BROKEN at record ${verdict.badSeq}: ${verdict.reason}.`,
        );
      if (!verdict.ok) {
        throw new MemvaultError('DATA_CORRUPTION', `The instance audit log fails at record ${verdict.badSeq}.`);
      }
    },
  );
}
