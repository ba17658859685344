import type { SecurityLevel } from '../core/category.js';
import type { UserId } from '../core/entry.js';
import { validationError } from '../core/errors.js';
import type { Principal } from '../services/types.js';
import { readPassword } from './io.js';
import type { CliApp, CliRuntime } from './runtime.js';

export interface UnlockOptions {
  readonly passwordStdin?: boolean;
  readonly totp?: string;
}

/**
 * The principal for one command. The local operator reads level 1; `--password-stdin` unlocks level 2 and,
 * with `--totp CODE`, level 3. Level 4 needs a passkey, which only the web app can present.
 */
export async function cliPrincipal(
  app: CliApp,
  runtime: CliRuntime,
  userId: UserId,
  options: UnlockOptions,
): Promise<Principal> {
  const meta = { channel: 'cli', userAgent: `memvault-cli/${runtime.version}` };
  if (options.totp !== undefined && !options.passwordStdin) {
    throw validationError('--totp needs --password-stdin too: SECRET takes the password and a code.');
  }
  if (!options.passwordStdin) return { userId, opener: await app.auth.channelOpener(userId), meta };
  const password = await readPassword(runtime.stdin);
  const levels: SecurityLevel[] = options.totp === undefined ? [1, 2] : [1, 2, 3];
  const opener = await app.auth.openerFor(
    userId,
    levels,
    { password, ...(options.totp === undefined ? {} : { totp: options.totp }) },
    meta,
  );
  return { userId, opener, meta };
}
