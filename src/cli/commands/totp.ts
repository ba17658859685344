import type { Command } from 'commander';
import { validationError } from '../../core/errors.js';
import { normalizeUser } from '../user-id.js';
import { lines, writeJson, writeLine } from '../io.js';
import { common } from '../options.js';
import type { CliRuntime } from '../runtime.js';

export function registerTotp(program: Command, runtime: CliRuntime): void {
  const totp = program.command('totp').description('two-factor codes (RFC 6238) for reading SECRET memories');
  common(
    totp
      .command('enroll')
      .description(
        'set up an authenticator app: reads the password (first stdin line), shows the secret and QR code, then reads a current code (next line) to confirm',
      )
      .requiredOption('--user <phone>', 'whose account')
      .requiredOption('--password-stdin', 'read the password from the first line of standard input'),
  ).action(async (opts: { user: string; dataDir?: string; json?: boolean }) => {
    const userId = await normalizeUser(opts.user);
    const input = lines(runtime.stdin)[Symbol.asyncIterator]();
    const next = async (what: string): Promise<string> => {
      const line = await input.next();
      if (line.done || line.value.trim().length === 0)
        throw validationError(`Standard input ended before the ${what}.`);
      return line.value.trim();
    };
    const password = await next('password');
    const app = await runtime.open(opts);
    const meta = { channel: 'cli', userAgent: `memvault-cli/${runtime.version}` };
    try {
      const signed = await app.auth.signIn(userId, password, meta);
      await signed.release?.();
      const token = signed.token;
      try {
        const enrollment = await app.auth.totpBegin(token);
        if (opts.json) writeJson(runtime.stdout, { secret: enrollment.secret, otpauthUri: enrollment.otpauthUri });
        else {
          writeLine(runtime.stdout, 'Add this account to your authenticator app:');
          writeLine(runtime.stdout, `  ${enrollment.otpauthUri}`);
          writeLine(runtime.stdout, `  secret: ${enrollment.secret}`);
          if (runtime.stdin.isTTY) runtime.stdout.write('Code from the app: ');
        }
        await app.auth.totpConfirm(token, await next('code'), meta);
        if (opts.json) writeJson(runtime.stdout, { enrolled: true });
        else writeLine(runtime.stdout, 'Two-factor codes are on: SECRET memories now need the password and a code.');
      } finally {
        await app.auth.signOut(token);
      }
    } finally {
      await app.close();
    }
  });
}
