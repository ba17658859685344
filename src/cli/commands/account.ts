import type { Command } from 'commander';
import { MemvaultError, validationError } from '../../core/errors.js';
import { readAll, readPassword, writeJson, writeLine } from '../io.js';
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

  common(
    program
      .command('recovery-kit')
      .description(
        'make a recovery kit: a code, shown once, that replaces a forgotten password without losing sealed memories (levels 2–3; level 4 still needs its passkey). Replaces any earlier kit',
      )
      .requiredOption('--user <phone>', 'whose kit')
      .option('--password-stdin', 'the current password (required to make a kit)')
      .option('--status', 'only say whether a kit exists and still fits the keys'),
  ).action(
    async (opts: { user: string; passwordStdin?: boolean; status?: boolean; dataDir?: string; json?: boolean }) => {
      const userId = await normalizeUser(opts.user);
      if (opts.status) {
        const status = await withApp(runtime, opts, (app) => app.recovery.status(userId));
        if (opts.json) writeJson(runtime.stdout, status);
        else
          writeLine(
            runtime.stdout,
            !status.exists
              ? `${userId} has no recovery kit.`
              : status.stale
                ? `${userId}'s recovery kit (made ${status.createdAt}) no longer fits the keys (rotated, or a passkey enrolled since): make a new one.`
                : `${userId} has a recovery kit, made ${status.createdAt}.`,
          );
        return;
      }
      if (!opts.passwordStdin) throw validationError('Making a recovery kit takes the password: --password-stdin.');
      const password = await readPassword(runtime.stdin);
      const made = await withApp(runtime, opts, (app) =>
        app.recovery.createKit(userId, password, { channel: 'cli', userAgent: `memvault-cli/${runtime.version}` }),
      );
      if (opts.json) writeJson(runtime.stdout, made);
      else
        writeLine(
          runtime.stdout,
          `Recovery code for ${userId} (shown this once; write it down and keep it apart from your password):\n\n  ${made.code}\n\n` +
            'It replaces a forgotten password (memvault recover). Levels 2 and 3 come back with it; level 4 still needs your passkey. ' +
            'A key rotation or a passkey enrolment makes it stale: then make a new one.',
        );
    },
  );

  common(
    program
      .command('recover')
      .description(
        'replace a forgotten password with the recovery code: stdin line 1 the code, line 2 the new password. Ends every session, removes the TOTP enrolment (enrol again), and uses the kit up',
      )
      .requiredOption('--user <phone>', 'whose password'),
  ).action(async (opts: { user: string; dataDir?: string; json?: boolean }) => {
    const userId = await normalizeUser(opts.user);
    const [code = '', password = ''] = (await readAll(runtime.stdin, 8192)).split(/\r?\n/);
    if (code.trim() === '' || password === '') {
      throw validationError(
        'Give the recovery code on the first line of standard input and the new password on the second.',
      );
    }
    await withApp(runtime, opts, (app) =>
      app.recovery.recover(userId, code, password, { channel: 'cli', userAgent: `memvault-cli/${runtime.version}` }),
    );
    if (opts.json) writeJson(runtime.stdout, { recovered: true });
    else
      writeLine(
        runtime.stdout,
        `The password of ${userId} is replaced; every session ended. Enrol TOTP again (memvault totp enroll) and make a new recovery kit.`,
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
