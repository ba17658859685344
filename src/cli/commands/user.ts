import type { Command } from 'commander';
import { readPassword, writeJson, writeLine } from '../io.js';
import { common } from '../options.js';
import type { CliRuntime } from '../runtime.js';

interface UserCreateOptions {
  phone: string;
  name?: string;
  timezone?: string;
  email?: string;
  passwordStdin?: boolean;
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
      .option('--password-stdin', 'read the password from the first line of standard input'),
  ).action(async (opts: UserCreateOptions) => {
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
      if (opts.json) writeJson(runtime.stdout, { user: profile });
      else writeLine(runtime.stdout, `Created ${profile.userId}${profile.name ? ` (${profile.name})` : ''}.`);
    } finally {
      await app.close();
    }
  });
}
