import type { Command } from 'commander';
import { normalizeUser } from '../user-id.js';
import { validationError } from '../../core/errors.js';
import { lines, readPassword, writeJson, writeLine } from '../io.js';
import { common } from '../options.js';
import type { CliRuntime } from '../runtime.js';

interface UserCreateOptions {
  phone: string;
  name?: string;
  timezone?: string;
  email?: string;
  passwordStdin?: boolean;
  recoveryKit?: boolean;
  dataDir?: string;
  json?: boolean;
}

export function registerUser(program: Command, runtime: CliRuntime): void {
  const user = program.command('user').description('manage people');
  common(
    user
      .command('create')
      .description("create a person's vault: the six Markdown files, the keyring and the audit log")
      .requiredOption('--phone <phone>', 'phone number in international format, e.g. "+1 (415) 555-0134"')
      .option('--name <name>', 'display name')
      .option('--timezone <tz>', 'IANA time zone, e.g. Europe/Lisbon (default UTC)')
      .option('--email <email>', 'e-mail address for notifications')
      .option('--password-stdin', 'read the password from the first line of standard input')
      .option(
        '--recovery-kit',
        'also make the recovery kit now and print its code, this once (needs --password-stdin; the same kit as `memvault recovery-kit`)',
      ),
  ).action(async (opts: UserCreateOptions) => {
    if (opts.recoveryKit && !opts.passwordStdin) {
      throw validationError(
        'A recovery kit wraps the keys the password protects: --recovery-kit needs --password-stdin.',
      );
    }
    const password = opts.passwordStdin ? await readPassword(runtime.stdin) : null;
    const app = await runtime.open(opts);
    try {
      const profile = await app.memory.signUp({
        phone: opts.phone,
        name: opts.name ?? null,
        ...(opts.timezone ? { timezone: opts.timezone } : {}),
        email: opts.email ?? null,
        password,
      });
      // The kit within the sign-up (issue 12 §5): made right after the keyring, its code printed once.
      const kit =
        opts.recoveryKit && password !== null
          ? await app.recovery.createKit(profile.userId, password, {
              channel: 'cli',
              userAgent: `memvault-cli/${runtime.version}`,
            })
          : null;
      if (opts.json) writeJson(runtime.stdout, { user: profile, ...(kit ? { recoveryKit: kit } : {}) });
      else {
        writeLine(runtime.stdout, `Created ${profile.userId}${profile.name ? ` (${profile.name})` : ''}.`);
        if (kit) {
          writeLine(
            runtime.stdout,
            `\nRecovery code for ${profile.userId} (shown this once; write it down and keep it apart from the password):\n\n  ${kit.code}\n\n` +
              'It replaces a forgotten password (memvault recover). Levels 2 and 3 come back with it; level 4 (Ultra-secret) opens only with its passkey, never with this code.',
          );
        } else if (password !== null) {
          writeLine(
            runtime.stdout,
            `No recovery kit yet: without one a forgotten password locks levels 2–4 away. Make it with \`memvault recovery-kit --user ${profile.userId} --password-stdin\`.`,
          );
        }
      }
    } finally {
      await app.close();
    }
  });

  common(
    user
      .command('password')
      .description(
        'set or change the password: stdin holds the current password then the new one, one per line (only the new one when none is set yet)',
      )
      .requiredOption('--user <phone>', 'whose password')
      .requiredOption('--password-stdin', 'read the passwords from standard input'),
  ).action(async (opts: { user: string; dataDir?: string; json?: boolean }) => {
    const userId = await normalizeUser(opts.user);
    const input = lines(runtime.stdin)[Symbol.asyncIterator]();
    const next = async (what: string): Promise<string> => {
      const line = await input.next();
      if (line.done || line.value.length === 0) throw validationError(`Standard input ended before the ${what}.`);
      return line.value;
    };
    const app = await runtime.open(opts);
    try {
      const hasPassword = await app.auth.hasPassword(userId);
      const current = hasPassword ? await next('current password') : '';
      const fresh = await next('new password');
      await app.auth.changePassword(userId, current, fresh, {
        channel: 'cli',
        userAgent: `memvault-cli/${runtime.version}`,
      });
      if (opts.json) writeJson(runtime.stdout, { changed: true, first: !hasPassword });
      else writeLine(runtime.stdout, hasPassword ? 'Password changed; every session was signed out.' : 'Password set.');
    } finally {
      await app.close();
    }
  });

  common(
    user
      .command('sign-out-everywhere')
      .description(
        'end every session of a person, also those of a running server (at their next request): for a lost or stolen device',
      )
      .requiredOption('--user <phone>', 'whose sessions'),
  ).action(async (opts: { user: string; dataDir?: string; json?: boolean }) => {
    const userId = await normalizeUser(opts.user);
    const app = await runtime.open(opts);
    try {
      await app.auth.revokeSessions(userId, { channel: 'cli', userAgent: `memvault-cli/${runtime.version}` });
      if (opts.json) writeJson(runtime.stdout, { signedOut: true });
      else writeLine(runtime.stdout, `Every session of ${userId} is signed out, on every device.`);
    } finally {
      await app.close();
    }
  });
}
